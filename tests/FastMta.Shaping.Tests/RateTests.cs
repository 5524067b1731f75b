namespace FastMta.Shaping.Tests;

public sealed class RateTests
{
    [Fact]
    public void TenPerSecondWithBurstFiveAdmitsFiveAtOnceThenExactlyTenEverySecondForAnHour()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("slow", "slow.example");
        rule.MessagesPerSecond = 10;
        rule.Burst = 5;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        Assert.Equal(5, shaper.AdmitAll("slow.example"));
        long total = 5;
        for (int second = 1; second <= 3600; second++)
        {
            for (int step = 0; step < 100; step++)
            {
                clock.Advance(TimeSpan.FromMilliseconds(10));
                total += shaper.AdmitAll("slow.example");
            }

            Assert.Equal(5 + (10L * second), total);
        }
    }

    [Fact]
    public void RefusalSaysWhenTheNextTokenArrivesAndItIsThereThen()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("slow", "slow.example");
        rule.MessagesPerSecond = 4;
        rule.Burst = 1;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        Assert.True(shaper.AdmitOnce("slow.example"));
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Admission refused = shaper.TryAdmit("default", "slow.example", "mx");
        Assert.Equal(AdmissionResult.Rate, refused.Result);
        Assert.Equal(ManualTimeProvider.Monday.AddMilliseconds(250), refused.RetryAt);

        clock.SetUtcNow(refused.RetryAt!.Value.AddTicks(-1));
        Assert.False(shaper.AdmitOnce("slow.example"));
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.True(shaper.AdmitOnce("slow.example"));
    }

    [Fact]
    public void PerMinuteRateHoldsAFullMinuteBucketThenOneEveryInterval()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("minute", "m.example");
        rule.MessagesPerMinute = 30;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        Assert.Equal(30, shaper.AdmitAll("m.example"));
        long total = 30;
        for (int minute = 1; minute <= 120; minute++)
        {
            for (int second = 0; second < 60; second++)
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                total += shaper.AdmitAll("m.example");
            }

            Assert.Equal(30 + (30L * minute), total);
        }
    }

    [Fact]
    public void PerHourRateIsExactOverADayAndCombinesWithAPerSecondRate()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("hourly", "h.example");
        rule.MessagesPerHour = 7;
        rule.MessagesPerSecond = 2;
        rule.Burst = 1;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        // The per-second cell paces the hour's bucket of 7: one now, one each half second after.
        Assert.Equal(1, shaper.AdmitAll("h.example"));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, shaper.AdmitAll("h.example"));
        long total = 2;
        for (int i = 0; i < 100; i++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            total += shaper.AdmitAll("h.example");
        }

        Assert.Equal(7, total);
        for (int hour = 1; hour <= 24; hour++)
        {
            for (int minute = 0; minute < 60; minute++)
            {
                clock.Advance(TimeSpan.FromMinutes(1));
                total += shaper.AdmitAll("h.example");
            }
        }

        Assert.InRange(total, 7 + (7 * 24) - 1, 7 + (7 * 24));
    }

    [Fact]
    public void EachSourceHasItsOwnBudgetAndTheSourceTotalCapsTheirSumPerSource()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("each", "a.example", "b.example");
        rule.PerDomain = true;
        rule.MessagesPerSecond = 5;
        rule.SourceTotal = new SourceTotalLimits { MessagesPerSecond = 8 };
        ShapingOptions options = Shapers.Options(rule);
        options.Sources = [Shapers.Source("s1", 2)];
        using var shaper = new TrafficShaper(options, clock);

        Assert.Equal(5, shaper.AdmitAll("a.example"));
        Assert.Equal(3, shaper.AdmitAll("b.example"));
        Admission refused = shaper.TryAdmit("default", "b.example", "mx");
        Assert.Equal(AdmissionResult.Rate, refused.Result);
        Assert.Equal(ManualTimeProvider.Monday.AddSeconds(1.0 / 8), refused.RetryAt);
    }

    [Fact]
    public void AnIdleDestinationIsEvictedOnceFullAndComesBackWithAFullBucket()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("r", "a.example");
        rule.MessagesPerSecond = 2;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        Assert.Equal(2, shaper.AdmitAll("a.example"));
        Assert.Equal(0, shaper.EvictIdle());
        Admission held = shaper.TryAdmit("default", "x.example", "mx.x");
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, shaper.EvictIdle());
        Assert.Equal(1, shaper.ActiveStates);
        shaper.Release(held.Slot);
        Assert.Equal(1, shaper.EvictIdle());
        Assert.Equal(0, shaper.ActiveStates);
        Assert.Equal(2, shaper.AdmitAll("a.example"));
    }
}
