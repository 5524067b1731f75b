namespace FastMta.Shaping.Tests;

public sealed class WarmupTests
{
    private static readonly DateOnly Start = DateOnly.FromDateTime(ManualTimeProvider.Monday.UtcDateTime);

    [Fact]
    public void DailyCapsRiseDayByDayPerRuleAndEndUnlimited()
    {
        var clock = new ManualTimeProvider(ManualTimeProvider.Monday.AddHours(9));
        ShapingRule gmail = Shapers.Rule("gmail", "gmail.com");
        ShapingOptions options = Shapers.Options(gmail);
        options.Sources = [Shapers.Source("new", 2, new WarmupPlan { StartDate = Start, DailyCaps = [3, 5, 8] })];
        using var shaper = new TrafficShaper(options, clock);

        int[] expected = [3, 5, 8];
        for (int day = 0; day < 3; day++)
        {
            Assert.Equal(expected[day], Admit(shaper, "gmail.com", 100));
            // The default rule counts separately against the same daily caps.
            Assert.Equal(expected[day], Admit(shaper, "small.example", 100));
            Admission refused = shaper.TryAdmit("default", "gmail.com", "mx");
            Assert.Equal(AdmissionResult.Warmup, refused.Result);
            Assert.Equal(ManualTimeProvider.Monday.AddDays(day + 1), refused.RetryAt);
            clock.SetUtcNow(refused.RetryAt!.Value);
        }

        Assert.Equal(100, Admit(shaper, "gmail.com", 100));
    }

    [Fact]
    public void RuleCapsOverrideTheDailyCapsForThatRule()
    {
        var clock = new ManualTimeProvider();
        ShapingOptions options = Shapers.Options(Shapers.Rule("gmail", "gmail.com"));
        var plan = new WarmupPlan { StartDate = Start.AddDays(-1), DailyCaps = [10, 20] };
        plan.RuleCaps["gmail"] = [1, 2];
        options.Sources = [Shapers.Source("new", 2, plan)];
        using var shaper = new TrafficShaper(options, clock);

        Assert.Equal(2, Admit(shaper, "gmail.com", 100));
        Assert.Equal(20, Admit(shaper, "other.example", 100));
        ShapingStateSnapshot gmail = Assert.Single(shaper.Snapshot(), s => s.Rule == "gmail");
        Assert.Equal((2L, 2), (gmail.WarmupSentToday, gmail.WarmupCapToday));
    }

    [Fact]
    public void ACappedSourceIsSkippedForAnotherInThePool()
    {
        var clock = new ManualTimeProvider();
        ShapingOptions options = Shapers.Options(Shapers.Rule("gmail", "gmail.com"));
        options.Sources = [Shapers.Source("new", 2, new WarmupPlan { StartDate = Start, DailyCaps = [2] }), Shapers.Source("old", 3)];
        using var shaper = new TrafficShaper(options, clock);

        var bySource = new Dictionary<string, int>();
        for (int i = 0; i < 10; i++)
        {
            Admission admission = shaper.TryAdmit("default", "gmail.com", "mx");
            Assert.True(admission.Granted);
            bySource[admission.Source!.Name] = bySource.GetValueOrDefault(admission.Source.Name) + 1;
            shaper.Release(admission.Lease);
        }

        Assert.Equal(2, bySource["new"]);
        Assert.Equal(8, bySource["old"]);
    }

    private static int Admit(TrafficShaper shaper, string domain, int attempts)
    {
        int admitted = 0;
        for (int i = 0; i < attempts; i++)
        {
            admitted += shaper.AdmitOnce(domain, "mx." + domain) ? 1 : 0;
        }

        return admitted;
    }
}
