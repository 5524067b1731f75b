using FastMta.Tests.Shared;

namespace FastMta.Shaping.Tests;

public sealed class MatchTests
{
    private static ShapingOptions Rules()
    {
        ShapingRule exact = Shapers.Rule("exact", "mail.example.com");
        ShapingRule shortSuffix = new() { Name = "short", Match = new ShapingMatch { DomainSuffixes = [".example.com"] } };
        ShapingRule longSuffix = new() { Name = "long", Match = new ShapingMatch { DomainSuffixes = [".eu.example.com"] } };
        ShapingRule google = new() { Name = "google", Match = new ShapingMatch { MxSuffixes = [".google.com"] }, MessagesPerSecond = 3 };
        ShapingRule gmailMx = new() { Name = "gmail-mx", Match = new ShapingMatch { MxSuffixes = [".l.google.com"] } };
        return Shapers.Options(exact, shortSuffix, longSuffix, google, gmailMx);
    }

    [Theory]
    [InlineData("mail.example.com", "aspmx.l.google.com", "exact")]
    [InlineData("MAIL.Example.com.", "mx.other", "exact")]
    [InlineData("x.example.com", "aspmx.l.google.com", "short")]
    [InlineData("a.eu.example.com", "mx.other", "long")]
    [InlineData("example.com", "mx.other", "default")]
    [InlineData("customer.org", "aspmx.l.google.com", "gmail-mx")]
    [InlineData("customer.org", "mx1.other.net,smtp.google.com", "google")]
    [InlineData("customer.org", "alt1.aspmx.l.google.com,smtp.google.com", "gmail-mx")]
    [InlineData("customer.org", "google.com", "default")]
    [InlineData("customer.org", "", "default")]
    public void PrecedenceIsExactThenLongestDomainSuffixThenLongestMxSuffixThenDefault(string domain, string site, string rule)
    {
        using var shaper = new TrafficShaper(Rules(), TestMeters.Create(), new ManualTimeProvider());
        Assert.Equal(rule, shaper.Match(domain, site).Name);
    }

    [Fact]
    public void DomainsHostedByOneProviderShareTheMxRuleBudget()
    {
        using var shaper = new TrafficShaper(Rules(), TestMeters.Create(), new ManualTimeProvider());

        Assert.True(shaper.AdmitOnce("one.org", "mx.smtp.google.com"));
        Assert.True(shaper.AdmitOnce("one.org", "mx.smtp.google.com"));
        Assert.Equal(1, shaper.AdmitAll("two.net", "other.smtp.google.com"));
        Assert.Equal(0, shaper.AdmitAll("three.io", "smtp.google.com,x.smtp.google.com"));
        ShapingStateSnapshot state = Assert.Single(shaper.Snapshot());
        Assert.Equal(("google", "google", 3.0), (state.Rule, state.Key, state.MessagesPerSecond));
    }

    [Fact]
    public void TheDefaultRuleKeysPerSiteAndPerDomainRulesPerDomain()
    {
        ShapingOptions options = Rules();
        options.DefaultRule.MessagesPerSecond = 1;
        ShapingRule perDomain = new() { Name = "hosted", PerDomain = true, MessagesPerSecond = 1, Match = new ShapingMatch { DomainSuffixes = [".hosted.example"] } };
        options.Rules.Add(perDomain);
        using var shaper = new TrafficShaper(options, TestMeters.Create(), new ManualTimeProvider());

        Assert.Equal(1, shaper.AdmitAll("a.org", "mx.a.org"));
        Assert.Equal(1, shaper.AdmitAll("b.org", "mx.b.org"));
        Assert.Equal(0, shaper.AdmitAll("alias-of-a.org", "mx.a.org"));
        Assert.Equal(1, shaper.AdmitAll("x.hosted.example", "mx.hosted.example"));
        Assert.Equal(1, shaper.AdmitAll("y.hosted.example", "mx.hosted.example"));
        Assert.Equal(0, shaper.AdmitAll("Y.hosted.example", "mx.hosted.example"));
        Assert.Equal(
            ["default:mx.a.org", "default:mx.b.org", "hosted:x.hosted.example", "hosted:y.hosted.example"],
            shaper.Snapshot().Select(s => $"{s.Rule}:{s.Key}").Order().ToArray());
    }

    [Fact]
    public void NamedRulesInheritUnsetLimitsFromTheDefaultRule()
    {
        ShapingOptions options = Rules();
        options.DefaultRule.MaxConnections = 4;
        options.DefaultRule.MaxRecipientsPerTransaction = 50;
        using var shaper = new TrafficShaper(options, TestMeters.Create(), new ManualTimeProvider());

        ShapingRule google = shaper.Match("x.org", "smtp.google.com");
        Assert.Equal((4, 50, 3, 100), (google.MaxConnections, google.MaxRecipientsPerTransaction, google.MessagesPerSecond, google.MaxMessagesPerConnection));
    }
}
