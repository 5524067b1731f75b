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
    public void HourlyCapsSpreadTheDayAndTheDailyCapStillEndsIt()
    {
        // Day 1: 25 a day, at most 10 an hour; day 2: 40 a day, 20 an hour; then unlimited. Simulated hour by hour.
        var clock = new ManualTimeProvider(ManualTimeProvider.Monday);
        ShapingOptions options = Shapers.Options(Shapers.Rule("gmail", "gmail.com"));
        options.Sources = [Shapers.Source("new", 2, new WarmupPlan { StartDate = Start, DailyCaps = [25, 40], HourlyCaps = [10, 20] })];
        using var shaper = new TrafficShaper(options, clock);

        var perHour = new List<int>();
        for (int hour = 0; hour < 48; hour++)
        {
            clock.SetUtcNow(ManualTimeProvider.Monday.AddHours(hour).AddMinutes(30));
            int admitted = Admit(shaper, "gmail.com", 100);
            perHour.Add(admitted);
            Admission refused = shaper.TryAdmit("default", "gmail.com", "mx");
            Assert.Equal(AdmissionResult.Warmup, refused.Result);
            bool dayFull = perHour.Skip(hour / 24 * 24).Sum() == (hour < 24 ? 25 : 40);
            DateTimeOffset expected = dayFull ? ManualTimeProvider.Monday.AddDays(hour / 24 + 1) : ManualTimeProvider.Monday.AddHours(hour + 1);
            Assert.Equal(expected, refused.RetryAt);
            if (hour % 24 == 0)
            {
                ShapingStateSnapshot state = Assert.Single(shaper.Snapshot(), s => s.Rule == "gmail");
                Assert.Equal((admitted, hour == 0 ? 10 : 20), ((int)state.WarmupSentThisHour, state.WarmupHourlyCap));
            }
        }

        Assert.Equal([10, 10, 5, .. Enumerable.Repeat(0, 21), 20, 20, .. Enumerable.Repeat(0, 22)], perHour);
        clock.SetUtcNow(ManualTimeProvider.Monday.AddDays(2));
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
            shaper.Release(admission.Slot);
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
