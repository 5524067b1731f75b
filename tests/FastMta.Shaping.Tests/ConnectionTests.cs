namespace FastMta.Shaping.Tests;

public sealed class ConnectionTests
{
    [Fact]
    public void MaxConnectionsRefusesWithoutARetryTimeUntilASlotIsReleasedAndReleaseIsIdempotent()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("two", "two.example");
        rule.MaxConnections = 2;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        Admission first = shaper.TryAdmit("default", "two.example", "mx");
        Admission second = shaper.TryAdmit("default", "two.example", "mx");
        Assert.True(first.Granted && second.Granted);
        Admission third = shaper.TryAdmit("default", "two.example", "mx");
        Assert.Equal(AdmissionResult.Connections, third.Result);
        Assert.Null(third.RetryAt);
        Assert.False(third.Slot.IsValid);

        shaper.Release(first.Slot);
        shaper.Release(first.Slot);
        shaper.Release(default);
        Admission fourth = shaper.TryAdmit("default", "two.example", "mx");
        Assert.True(fourth.Granted);
        Assert.Equal(AdmissionResult.Connections, shaper.TryAdmit("default", "two.example", "mx").Result);

        // A stale copy of the first slot must not free the slot it now shares with the fourth.
        shaper.Release(first.Slot);
        Assert.Equal(AdmissionResult.Connections, shaper.TryAdmit("default", "two.example", "mx").Result);
        Assert.Equal(2, Assert.Single(shaper.Snapshot()).ConnectionsInUse);
    }

    [Fact]
    public void ConnectionsAreCountedPerSourceAndDestinationKey()
    {
        ShapingRule rule = Shapers.Rule("one", "one.example");
        rule.MaxConnections = 1;
        ShapingOptions options = Shapers.Options(rule);
        options.Sources = [Shapers.Source("a", 2), Shapers.Source("b", 3)];
        using var shaper = new TrafficShaper(options, new ManualTimeProvider());

        Admission first = shaper.TryAdmit("default", "one.example", "mx");
        Admission second = shaper.TryAdmit("default", "one.example", "mx");
        Assert.NotEqual(first.Source!.Name, second.Source!.Name);
        Assert.Equal(AdmissionResult.Connections, shaper.TryAdmit("default", "one.example", "mx").Result);
        Assert.True(shaper.TryAdmit("default", "other.example", "mx.other").Granted);
    }

    [Fact]
    public void EveryAttemptTakesAMessageTokenAndCarriesTheRulesMaxMessagesPerConnectionForThePool()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("r", "r.example");
        rule.MaxMessagesPerConnection = 3;
        rule.MessagesPerSecond = 10;
        rule.Burst = 2;
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock);

        Admission admission = shaper.TryAdmit("default", "r.example", "mx");
        Assert.Equal(3, admission.Rule!.MaxMessagesPerConnection);
        Assert.True(shaper.TryAdmit("default", "r.example", "mx").Granted);
        Admission rate = shaper.TryAdmit("default", "r.example", "mx");
        Assert.Equal(AdmissionResult.Rate, rate.Result);
        Assert.Equal(ManualTimeProvider.Monday.AddMilliseconds(100), rate.RetryAt);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(shaper.TryAdmit("default", "r.example", "mx").Granted);
    }

    [Fact]
    public void ConnectionRateLimitsNewConnectionsButNotAttemptsOverIdlePooledOnes()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("r", "r.example");
        rule.ConnectionsPerMinute = 2;
        var idle = new IdleConnections();
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock, idle);

        Assert.True(shaper.TryAdmit("default", "r.example", "mx").Granted);
        Assert.True(shaper.TryAdmit("default", "r.example", "mx").Granted);
        Admission refused = shaper.TryAdmit("default", "r.example", "mx");
        Assert.Equal(AdmissionResult.Rate, refused.Result);
        Assert.Equal(ManualTimeProvider.Monday.AddSeconds(30), refused.RetryAt);
        idle.Open = true;
        Assert.True(shaper.TryAdmit("default", "r.example", "mx").Granted);
        idle.Open = false;
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.True(shaper.TryAdmit("default", "r.example", "mx").Granted);
    }

    [Fact]
    public void TheConnectionRateCountsConnectionsOpenedNotAttemptsOverOpenOnes()
    {
        var clock = new ManualTimeProvider();
        ShapingRule rule = Shapers.Rule("r", "r.example");
        rule.ConnectionsPerMinute = 1;
        var idle = new IdleConnections();
        using var shaper = new TrafficShaper(Shapers.Options(rule), clock, idle);

        // An attempt that took the token but reused an open connection gives it back.
        for (int i = 0; i < 3; i++)
        {
            Admission reusing = shaper.TryAdmit("default", "r.example", "mx");
            Assert.True(reusing.Granted);
            shaper.ConnectionsOpened(reusing.Slot, 0);
            shaper.Release(reusing.Slot);
        }

        // One that opened a connection keeps it: the next new connection waits a minute...
        Admission opening = shaper.TryAdmit("default", "r.example", "mx");
        shaper.ConnectionsOpened(opening.Slot, 1);
        shaper.Release(opening.Slot);
        Admission refused = shaper.TryAdmit("default", "r.example", "mx");
        Assert.Equal((AdmissionResult.Rate, ManualTimeProvider.Monday.AddMinutes(1)), (refused.Result, refused.RetryAt));
        Assert.Equal(("default", "r.example"), idle.Asked);

        // ...unless the source has an idle connection there, which needs no token.
        idle.Open = true;
        Admission overIdle = shaper.TryAdmit("default", "r.example", "mx");
        Assert.True(overIdle.Granted);

        // If that connection was gone by then and one was opened after all, it is charged: the wait grows a minute.
        shaper.ConnectionsOpened(overIdle.Slot, 1);
        shaper.Release(overIdle.Slot);
        idle.Open = false;
        Assert.Equal(ManualTimeProvider.Monday.AddMinutes(2), shaper.TryAdmit("default", "r.example", "mx").RetryAt);
    }

    [Fact]
    public void TheIdleViewIsAskedOnlyWhenTheConnectionRateHasNoTokenLeft()
    {
        var clock = new ManualTimeProvider();
        ShapingRule limited = Shapers.Rule("r", "r.example");
        limited.ConnectionsPerMinute = 2;
        var idle = new IdleConnections();
        using var shaper = new TrafficShaper(Shapers.Options(limited, Shapers.Rule("free", "free.example")), clock, idle);

        for (int i = 0; i < 10; i++)
        {
            Assert.True(shaper.AdmitOnce("free.example")); // no connection rate: nothing to ask
        }

        Assert.True(shaper.AdmitOnce("r.example"));
        Assert.True(shaper.AdmitOnce("r.example"));
        Assert.Equal(0, idle.Asks);
        Assert.False(shaper.AdmitOnce("r.example"));
        Assert.Equal(1, idle.Asks);
    }

    private sealed class IdleConnections : IIdleConnections
    {
        public bool Open { get; set; }

        public (string Source, string Domain) Asked { get; private set; }

        public int Asks { get; private set; }

        public bool HasIdleConnection(EgressSource source, string domain)
        {
            Asked = (source.Name, domain);
            Asks++;
            return Open;
        }
    }

    [Fact]
    public void ConcurrentAdmissionsNeverExceedMaxConnections()
    {
        ShapingRule rule = Shapers.Rule("r", "r.example");
        rule.MaxConnections = 7;
        using var shaper = new TrafficShaper(Shapers.Options(rule), new ManualTimeProvider());
        int inUse = 0;
        int peak = 0;
        Parallel.For(0, 8, _ =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                Admission admission = shaper.TryAdmit("default", "r.example", "mx");
                if (admission.Granted)
                {
                    int now = Interlocked.Increment(ref inUse);
                    int seen;
                    while (now > (seen = Volatile.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen)
                    {
                    }

                    Interlocked.Decrement(ref inUse);
                    shaper.Release(admission.Slot);
                }
            }
        });

        Assert.InRange(peak, 1, 7);
        Assert.Equal(0, Assert.Single(shaper.Snapshot()).ConnectionsInUse);
    }
}
