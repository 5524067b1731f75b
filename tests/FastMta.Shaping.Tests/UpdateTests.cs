namespace FastMta.Shaping.Tests;

public sealed class UpdateTests
{
    [Fact]
    public void NewLimitsApplyFromTheNextDecisionAndExistingBucketsCarryOver()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("r", "r.example");
        rule.MessagesPerSecond = 2;
        rule.MaxConnections = 1;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        Admission held = shaper.TryAdmit("default", "r.example", "mx");
        Assert.Equal(AdmissionResult.Connections, shaper.TryAdmit("default", "r.example", "mx").Result);

        ShapingRule faster = Shapers.Rule("r", "r.example");
        faster.MessagesPerSecond = 2;
        faster.MaxConnections = 3;
        shaper.Update(Shapers.Options(faster));
        // The held connection still counts against the new limit; the bucket still lacks the token it gave.
        Assert.True(shaper.TryAdmit("default", "r.example", "mx").Granted);
        Assert.Equal(AdmissionResult.Rate, shaper.TryAdmit("default", "r.example", "mx").Result);

        ShapingRule slower = Shapers.Rule("r", "r.example");
        slower.MessagesPerMinute = 1;
        shaper.Update(Shapers.Options(slower));
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(shaper.AdmitOnce("r.example"));
        Admission refused = shaper.TryAdmit("default", "r.example", "mx");
        Assert.Equal(clock.GetUtcNow().AddMinutes(1), refused.RetryAt);
        shaper.Release(held.Slot);
        Assert.Equal(1, Assert.Single(shaper.Snapshot()).ConnectionsInUse);
    }

    [Fact]
    public void RemovingARuleSendsItsDomainsToTheDefaultRuleAndSuspensionsSurvive()
    {
        ShapingOptions options = Shapers.Options(Shapers.Rule("r", "r.example"));
        options.Sources = [Shapers.Source("a", 2), Shapers.Source("b", 3)];
        using var shaper = new TrafficShaper(options, new ManualTimeProvider());
        shaper.SuspendSource("a");

        ShapingOptions next = Shapers.Options();
        next.Sources = options.Sources;
        shaper.Update(next);
        Assert.Equal("default", shaper.Match("r.example", "mx").Name);
        Assert.Equal("b", shaper.TryAdmit("default", "r.example", "mx").Source!.Name);
    }

    [Fact]
    public void AnInvalidUpdateThrowsAndKeepsTheOldConfiguration()
    {
        using var shaper = new TrafficShaper(Shapers.Options(Shapers.Rule("r", "r.example")), new ManualTimeProvider());
        ShapingRule bad = Shapers.Rule("r", "r.example");
        bad.MessagesPerMinute = 0;
        Assert.Throws<ShapingOptionsException>(() => shaper.Update(Shapers.Options(bad)));
        Assert.Equal("r", shaper.Match("r.example", "mx").Name);
    }
}
