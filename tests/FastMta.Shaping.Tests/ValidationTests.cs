using FastMta.Tests.Shared;

namespace FastMta.Shaping.Tests;

public sealed class ValidationTests
{
    [Fact]
    public void MessagesNameTheConfigurationKey()
    {
        Assert.Equal("Mta:Shaping:Rules:gmail:MessagesPerMinute must be positive.",
            Fail(o => o.Rules.Add(new ShapingRule { Name = "gmail", MessagesPerMinute = 0, Match = new ShapingMatch { Domains = ["gmail.com"] } })));
        Assert.Equal("Mta:Shaping:DefaultRule:MaxConnections must be positive.", Fail(o => o.DefaultRule.MaxConnections = -1));
        Assert.Equal("Mta:Shaping:Rules:x:Match needs Domains, DomainSuffixes or MxSuffixes.", Fail(o => o.Rules.Add(new ShapingRule { Name = "x" })));
        Assert.Equal("Mta:Shaping:Rules:x:Match:MxSuffixes: 'google.com' must start with one dot, e.g. \".example.com\".",
            Fail(o => o.Rules.Add(new ShapingRule { Name = "x", Match = new ShapingMatch { MxSuffixes = ["google.com"] } })));
        Assert.Equal("Mta:Shaping:Rules:b:Match:Domains: 'A.com' is already matched by rule 'a'.", Fail(o =>
        {
            o.Rules.Add(Shapers.Rule("a", "a.com"));
            o.Rules.Add(Shapers.Rule("b", "A.com"));
        }));
        Assert.Equal("Mta:Shaping:Rules:default: the name is used twice (\"default\" is the DefaultRule's).", Fail(o => o.Rules.Add(Shapers.Rule("default", "a.com"))));
        Assert.Equal("Mta:Egress:Pools:p:Members: 'ghost' is not a source under Mta:Egress:Sources.",
            Fail(o => o.Pools.Add(Shapers.Pool("p", ("ghost", 1)))));
        Assert.Equal("Mta:Egress:Pools:p:Members:a:Weight must be 1..1000000.", Fail(o =>
        {
            o.Sources.Add(Shapers.Source("a", 2));
            o.Pools.Add(Shapers.Pool("p", ("a", 0)));
        }));
        Assert.Equal("Mta:Egress:SenderDomainPools:news.example: 'nope' is not a pool under Mta:Egress:Pools.",
            Fail(o => o.SenderDomainPools["news.example"] = "nope"));
        Assert.Equal("Mta:Egress:Sources:a:Warmup:DailyCaps:1 must not be negative.",
            Fail(o => o.Sources.Add(Shapers.Source("a", 2, new WarmupPlan { DailyCaps = [5, -1] }))));
        Assert.Equal("Mta:Egress:Sources:a:Warmup:RuleCaps:gmail names no rule.", Fail(o =>
        {
            var plan = new WarmupPlan { DailyCaps = [5] };
            plan.RuleCaps["gmail"] = [1];
            o.Sources.Add(Shapers.Source("a", 2, plan));
        }));
        Assert.Equal("Mta:Egress:Sources:a:Warmup:HourlyCaps:0 must not be negative.",
            Fail(o => o.Sources.Add(Shapers.Source("a", 2, new WarmupPlan { HourlyCaps = [-5] }))));
        Assert.Equal("Mta:Egress:Sources:a:Warmup:RuleHourlyCaps:gmail names no rule.", Fail(o =>
        {
            var plan = new WarmupPlan { DailyCaps = [5] };
            plan.RuleHourlyCaps["gmail"] = [1];
            o.Sources.Add(Shapers.Source("a", 2, plan));
        }));
    }

    [Fact]
    public void DefaultsAreValidAndGiveOneUnboundSourceInTheDefaultPool()
    {
        using var shaper = new TrafficShaper(new ShapingOptions(), TestMeters.Create(), new ManualTimeProvider());
        Admission admission = shaper.TryAdmit("default", "example.org", "mx.example.org");
        Assert.True(admission.Granted);
        Assert.Equal("default", admission.Source!.Name);
        Assert.Null(admission.Source.Address);
        Assert.Equal((20, 100, 100), (admission.Rule!.MaxConnections, admission.Rule.MaxMessagesPerConnection, admission.Rule.MaxRecipientsPerTransaction));
    }

    private static string Fail(Action<ShapingOptions> configure)
    {
        var options = new ShapingOptions();
        configure(options);
        return Assert.Throws<ArgumentException>(options.Validate).Message;
    }
}
