namespace FastMta.Shaping.Tests;

public sealed class PoolTests
{
    [Fact]
    public void WeightedSplitOverTenThousandAdmissionsFollowsTheWeightsExactly()
    {
        ShapingOptions options = Shapers.Options();
        options.Sources = [Shapers.Source("a", 2), Shapers.Source("b", 3), Shapers.Source("c", 4)];
        options.Pools = [Shapers.Pool("bulk", ("a", 5), ("b", 3), ("c", 2))];
        using var shaper = new TrafficShaper(options, new ManualTimeProvider());

        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 10_000; i++)
        {
            Admission admission = shaper.TryAdmit("bulk", $"d{i % 50}.example", "mx");
            Assert.True(admission.Granted);
            counts[admission.Source!.Name] = counts.GetValueOrDefault(admission.Source.Name) + 1;
            shaper.Release(admission.Slot);
        }

        Assert.InRange(counts["a"], 4999, 5001);
        Assert.InRange(counts["b"], 2999, 3001);
        Assert.InRange(counts["c"], 1999, 2001);
    }

    [Fact]
    public void SmoothRoundRobinInterleavesRatherThanSendingRuns()
    {
        ShapingOptions options = Shapers.Options();
        options.Sources = [Shapers.Source("a", 2), Shapers.Source("b", 3), Shapers.Source("c", 4)];
        options.Pools = [Shapers.Pool("p", ("a", 5), ("b", 1), ("c", 1))];
        using var shaper = new TrafficShaper(options, new ManualTimeProvider());

        string order = string.Concat(Enumerable.Range(0, 7).Select(_ =>
        {
            Admission admission = shaper.TryAdmit("p", "x.example", "mx");
            shaper.Release(admission.Slot);
            return admission.Source!.Name;
        }));
        Assert.Equal("aabacaa", order);
    }

    [Fact]
    public void SuspendedSourcesAreSkippedAndAFullySuspendedPoolSaysUntilWhen()
    {
        var clock = new ManualTimeProvider();
        ShapingOptions options = Shapers.Options();
        options.Sources = [Shapers.Source("a", 2), Shapers.Source("b", 3)];
        using var shaper = new TrafficShaper(options, clock);

        Assert.True(shaper.SuspendSource("a"));
        Assert.False(shaper.SuspendSource("nope"));
        for (int i = 0; i < 5; i++)
        {
            Admission admission = shaper.TryAdmit("default", "x.example", "mx");
            Assert.Equal("b", admission.Source!.Name);
            shaper.Release(admission.Slot);
        }

        DateTimeOffset until = ManualTimeProvider.Monday.AddMinutes(10);
        shaper.SuspendSource("b", until);
        Admission refused = shaper.TryAdmit("default", "x.example", "mx");
        Assert.Equal(AdmissionResult.Suspended, refused.Result);
        Assert.Equal(until, refused.RetryAt);

        clock.SetUtcNow(until);
        Assert.Equal("b", shaper.TryAdmit("default", "x.example", "mx").Source!.Name);
        shaper.ResumeSource("a");
        Assert.Equal(["a", "b"], new[] { shaper.TryAdmit("default", "x.example", "mx").Source!.Name, shaper.TryAdmit("default", "x.example", "mx").Source!.Name }.Order());
    }

    [Fact]
    public void WhenEverySourceIsLimitedTheEarliestRetryTimeWins()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("r", "r.example");
        rule.MessagesPerSecond = 1;
        ShapingOptions options = Shapers.Options(rule);
        options.Sources = [Shapers.Source("a", 2), Shapers.Source("b", 3)];
        using var shaper = new TrafficShaper(options, clock);

        Assert.True(shaper.AdmitOnce("r.example"));
        clock.Advance(TimeSpan.FromMilliseconds(400));
        Assert.True(shaper.AdmitOnce("r.example"));
        Admission refused = shaper.TryAdmit("default", "r.example", "mx");
        Assert.Equal(AdmissionResult.Rate, refused.Result);
        Assert.Equal(ManualTimeProvider.Monday.AddSeconds(1), refused.RetryAt);
        Assert.Equal(AdmissionResult.UnknownPool, shaper.TryAdmit("gone", "r.example", "mx").Result);
    }

    [Fact]
    public void ChoosePoolPrefersHeaderThenApiThenSenderDomainThenDefault()
    {
        ShapingOptions options = Shapers.Options();
        options.Sources = [Shapers.Source("a", 2)];
        options.Pools = [Shapers.Pool("header", ("a", 1)), Shapers.Pool("api", ("a", 1)), Shapers.Pool("news", ("a", 1))];
        options.SenderDomainPools["news.example"] = "news";
        using var shaper = new TrafficShaper(options, new ManualTimeProvider());

        Assert.Equal("header", shaper.ChoosePool("header", "api", "news.example"));
        Assert.Equal("api", shaper.ChoosePool(null, "api", "news.example"));
        Assert.Equal("api", shaper.ChoosePool(" ", "api", "news.example"));
        Assert.Equal("news", shaper.ChoosePool(null, null, "NEWS.example"));
        Assert.Equal("default", shaper.ChoosePool(null, null, "other.example"));
        Assert.True(shaper.HasPool("default"));
        Assert.False(shaper.HasPool("missing"));
    }
}
