using System.Diagnostics.Metrics;

namespace FastMta.Shaping;

/// <summary>
/// Instruments on the Meter "FastMta.Shaping". Labels are configured names (pool, source, rule) and a fixed result
/// set, never recipient domains: every destination under the default rule counts as rule="default". Gauges read the
/// per (source, rule) counters the shaper keeps anyway, so a scrape does not walk the destination table.
/// </summary>
internal sealed class ShapingMetrics : IDisposable
{
    public const string MeterName = "FastMta.Shaping";

    private static readonly string[] ResultNames =
        ["granted", "rate", "connections", "warmup", "suspended", "unknown_pool"];

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _admissions;

    public ShapingMetrics(TrafficShaper shaper)
    {
        _admissions = _meter.CreateCounter<long>("fastmta.shaping.admissions", "{decision}",
            "Shaping decisions by pool, source and rule. result=granted is a message allowed to leave; rate, connections, "
            + "warmup and suspended say what held it back (from the source that could be ready soonest); a steady "
            + "rate or warmup share is the configured limit at work, not a fault.");
        _meter.CreateObservableGauge("fastmta.shaping.connections", shaper.ObserveConnections, "{connection}",
            "Connections in use per source and rule: attempt slots held (each attempt in flight uses one connection; idle pooled connections are not counted).");
        _meter.CreateObservableGauge("fastmta.shaping.tokens", shaper.ObserveTokens, "{message}",
            "Messages that may leave now per source and rule, for rules with one budget per rule (not PerDomain, not the default rule).");
        _meter.CreateObservableGauge("fastmta.shaping.warmup.sent", shaper.ObserveWarmupSent, "{message}",
            "Messages sent today (UTC) per source and rule by sources with a warmup plan.");
        _meter.CreateObservableGauge("fastmta.shaping.warmup.sent_this_hour", shaper.ObserveWarmupSentThisHour, "{message}",
            "Messages sent in the current UTC hour per source and rule by sources with a warmup plan (hourly caps).");
        _meter.CreateObservableGauge("fastmta.shaping.source.suspended", shaper.ObserveSuspended, "{source}",
            "1 while a source is suspended (by the admin API or the reputation layer), else 0.");
    }

    public void Admission(string pool, string source, string rule, AdmissionResult result)
    {
        if (!_admissions.Enabled)
        {
            return;
        }

        var tags = new System.Diagnostics.TagList
        {
            { "pool", pool },
            { "source", source },
            { "rule", rule },
            { "result", ResultNames[(int)result] },
        };
        _admissions.Add(1, in tags);
    }

    public void Dispose() => _meter.Dispose();
}
