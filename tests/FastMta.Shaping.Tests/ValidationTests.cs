namespace FastMta.Shaping.Tests;

public sealed class ValidationTests
{
    [Fact]
    public void MessagesNameTheFieldPathInsideTheOptions()
    {
        Assert.Equal("Rules[gmail].MessagesPerMinute must be positive.",
            Fail(o => o.Rules.Add(new ShapingRule { Name = "gmail", MessagesPerMinute = 0, Match = new ShapingMatch { Domains = ["gmail.com"] } })));
        Assert.Equal("DefaultRule.MaxConnections must be positive.", Fail(o => o.DefaultRule.MaxConnections = -1));
        Assert.Equal("Rules[x].Match needs Domains, DomainSuffixes or MxSuffixes.", Fail(o => o.Rules.Add(new ShapingRule { Name = "x" })));
        Assert.Equal("Rules[x].Match.MxSuffixes entry 'google.com' must start with one dot, e.g. \".example.com\".",
            Fail(o => o.Rules.Add(new ShapingRule { Name = "x", Match = new ShapingMatch { MxSuffixes = ["google.com"] } })));
        Assert.Equal("Rules[b].Match.Domains entry 'A.com' is already matched by rule 'a'.", Fail(o =>
        {
            o.Rules.Add(Shapers.Rule("a", "a.com"));
            o.Rules.Add(Shapers.Rule("b", "A.com"));
        }));
        Assert.Equal("Rules[default] has a name used twice (\"default\" is the DefaultRule's).", Fail(o => o.Rules.Add(Shapers.Rule("default", "a.com"))));
        Assert.Equal("Pools[p].Members[ghost] names no source in Sources.",
            Fail(o => o.Pools.Add(Shapers.Pool("p", ("ghost", 1)))));
        Assert.Equal("Pools[p].Members[a].Weight must be 1..1000000.", Fail(o =>
        {
            o.Sources.Add(Shapers.Source("a", 2));
            o.Pools.Add(Shapers.Pool("p", ("a", 0)));
        }));
        Assert.Equal("SenderDomainPools[news.example] names 'nope', which is no pool in Pools.",
            Fail(o => o.SenderDomainPools["news.example"] = "nope"));
        Assert.Equal("Sources[a].Warmup.DailyCaps[1] must not be negative.",
            Fail(o => o.Sources.Add(Shapers.Source("a", 2, new WarmupPlan { DailyCaps = [5, -1] }))));
        Assert.Equal("Sources[a].Warmup.RuleCaps[gmail] names no rule.", Fail(o =>
        {
            var plan = new WarmupPlan { DailyCaps = [5] };
            plan.RuleCaps["gmail"] = [1];
            o.Sources.Add(Shapers.Source("a", 2, plan));
        }));
        Assert.Equal("Sources[a].Warmup.HourlyCaps[0] must not be negative.",
            Fail(o => o.Sources.Add(Shapers.Source("a", 2, new WarmupPlan { HourlyCaps = [-5] }))));
        Assert.Equal("Sources[a].Warmup.RuleHourlyCaps[gmail] names no rule.", Fail(o =>
        {
            var plan = new WarmupPlan { DailyCaps = [5] };
            plan.RuleHourlyCaps["gmail"] = [1];
            o.Sources.Add(Shapers.Source("a", 2, plan));
        }));
    }

    [Fact]
    public void TheExceptionCarriesThePathAsSegmentsForTheHostToMap()
    {
        var options = new ShapingOptions();
        var plan = new WarmupPlan { DailyCaps = [5] };
        plan.RuleCaps["default"] = [1, -2];
        options.Sources.Add(Shapers.Source("a", 2, plan));
        ShapingOptionsException e = Assert.Throws<ShapingOptionsException>(options.Validate);
        Assert.Equal("Sources[a].Warmup.RuleCaps[default][1]", e.FieldPath);
        Assert.Equal("must not be negative.", e.Problem);
        Assert.Equal(
            [new ShapingFieldSegment("Sources", "a"), new ShapingFieldSegment("Warmup"), new ShapingFieldSegment("RuleCaps", "default"), ShapingFieldSegment.Index(1)],
            e.Segments);
        Assert.DoesNotContain("Mta:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DefaultsAreValidAndGiveOneUnboundSourceInTheDefaultPool()
    {
        using var shaper = new TrafficShaper(new ShapingOptions(), new ManualTimeProvider());
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
        return Assert.Throws<ShapingOptionsException>(options.Validate).Message;
    }
}
