using System.Net;

namespace FastMta.Shaping.Tests;

/// <summary>Small builders for the tests.</summary>
internal static class Shapers
{
    public const string GmailSite = "alt1.gmail-smtp-in.l.google.com,gmail-smtp-in.l.google.com";

    public static ShapingOptions Options(params ShapingRule[] rules) => new() { Rules = [.. rules] };

    public static EgressSource Source(string name, int lastOctet, WarmupPlan? warmup = null) =>
        new() { Name = name, Address = IPAddress.Parse($"127.0.0.{lastOctet}"), EhloName = $"{name}.test", Warmup = warmup };

    public static EgressPool Pool(string name, params (string Source, int Weight)[] members) =>
        new() { Name = name, Members = [.. members.Select(m => new PoolMember { SourceName = m.Source, Weight = m.Weight })] };

    public static ShapingRule Rule(string name, params string[] domains) =>
        new() { Name = name, Match = new ShapingMatch { Domains = [.. domains] }, MaxConnections = 1000 };

    /// <summary>Admits and releases at once: counts rate decisions without holding connections.</summary>
    public static bool AdmitOnce(this TrafficShaper shaper, string domain, string site = "mx.example.net", string pool = "default")
    {
        Admission admission = shaper.TryAdmit(pool, domain, site);
        shaper.Release(admission.Slot);
        return admission.Granted;
    }

    public static int AdmitAll(this TrafficShaper shaper, string domain, string site = "mx.example.net")
    {
        int admitted = 0;
        while (shaper.AdmitOnce(domain, site))
        {
            admitted++;
        }

        return admitted;
    }
}
