using System.Net;
using FastMta.Shaping;
using FastMta.Spool;
using static FastMta.Queue.Tests.Manager.QueueTestHarness;

namespace FastMta.Queue.Tests.Manager;

// The queue with a real TrafficShaper: every attempt is admitted first, and the admission's source goes to the agent.
// Rates are asserted as lower bounds only (a rate limit can make delivery slower, never faster), with a margin: the
// times are taken when the agent is called, a little after each admission, and a late first call shortens the span.
// Unshaped, the same messages are all attempted within a few tens of milliseconds.
public sealed class ShapingTests
{
    private static EgressSource Source(string name, int lastOctet) =>
        new() { Name = name, Address = IPAddress.Parse($"127.0.0.{lastOctet}"), EhloName = $"{name}.example.test" };

    private static ShapingRule Rule(string name, int perSecond, params string[] domains) =>
        new() { Name = name, Match = new ShapingMatch { Domains = [.. domains] }, MessagesPerSecond = perSecond, Burst = 1 };

    [Fact]
    public async Task Attempts_are_spread_over_the_pool_by_weight_and_carry_the_source_and_its_EHLO_name()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Shaping = new ShapingOptions
        {
            Sources = [Source("a", 2), Source("b", 3)],
            Pools = [new EgressPool { Name = "default", Members = [new PoolMember { SourceName = "a", Weight = 3 }, new PoolMember { SourceName = "b", Weight = 1 }] }],
        };
        await h.StartAsync();
        for (int i = 0; i < 40; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@one.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 40, "all are delivered");
        var bySource = h.Agent.Attempts.GroupBy(a => (a.SourceAddress, a.EhloName)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(30, bySource[("127.0.0.2", "a.example.test")]);
        Assert.Equal(10, bySource[("127.0.0.3", "b.example.test")]);
    }

    [Fact]
    public async Task The_pool_a_message_asked_for_wins_over_the_sender_domain_and_survives_a_restart()
    {
        int attempts = 0;
        await using var h = new QueueTestHarness((r, _) => Interlocked.Increment(ref attempts) <= 4
            ? Task.FromResult(All(r, RecipientOutcome.Deferred, 451, "4.3.0", "try later"))
            : Deliver(r));
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)]; // retried by hand after the restart
        h.Shaping = new ShapingOptions
        {
            Sources = [Source("a", 2), Source("b", 3), Source("c", 4)],
            Pools =
            [
                new EgressPool { Name = "default", Members = [new PoolMember { SourceName = "a", Weight = 1 }] },
                new EgressPool { Name = "bulk", Members = [new PoolMember { SourceName = "b", Weight = 1 }] },
                new EgressPool { Name = "tx", Members = [new PoolMember { SourceName = "c", Weight = 1 }] },
            ],
            SenderDomainPools = new Dictionary<string, string> { ["billing.test"] = "tx" },
        };
        await h.StartAsync();
        byte[] body = "Subject: t\r\n\r\nhello\r\n"u8.ToArray();
        SpoolMessageId asked = await h.SendAsync("s@billing.test", ["r@asked.test"], body, pool: "bulk");
        await h.SendAsync("s@billing.test", ["r@mapped.test"], body);
        await h.SendAsync("s@other.test", ["r@plain.test"], body);
        await h.SendAsync("s@other.test", ["r@gone.test"], body, pool: "removed-by-a-reload");
        await WaitUntilAsync(() => h.Agent.Attempts.Count == 4, "every message is tried once (and deferred)");
        Assert.Equal("bulk", h.Queue.FindMessage(asked.ToString())!.Pool); // the admin API shows the choice

        await h.RestartAsync();
        h.Queue.RetryNow(null);
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 4, "every message is delivered after the restart");
        foreach (string from in new[] { "first attempt", "after the restart" })
        {
            var sources = h.Agent.Attempts.Skip(from == "first attempt" ? 0 : 4).Take(4).ToDictionary(a => a.Domain, a => a.SourceAddress);
            Assert.Equal("127.0.0.3", sources["asked.test"]); // the pool it asked for, not its sender's (tx)
            Assert.Equal("127.0.0.4", sources["mapped.test"]);
            Assert.Equal("127.0.0.2", sources["plain.test"]);
            Assert.Equal("127.0.0.2", sources["gone.test"]); // an unknown pool falls back instead of holding the mail
        }
    }

    [Fact]
    public async Task A_rate_limited_domain_is_held_to_its_rate_while_another_domain_is_not_slowed()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Shaping = new ShapingOptions { Rules = [Rule("slow", 10, "slow.test")] };
        await h.StartAsync();
        for (int i = 0; i < 11; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@slow.test");
            await h.SendAsync("s@sender.test", $"r{i}@fast.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 22, "all are delivered");
        DateTime[] slow = [.. h.Agent.Attempts.Where(a => a.Domain == "slow.test").Select(a => a.StartedAt).Order()];
        DateTime[] fast = [.. h.Agent.Attempts.Where(a => a.Domain == "fast.test").Select(a => a.StartedAt).Order()];
        Assert.True(slow[^1] - slow[0] >= TimeSpan.FromMilliseconds(700), $"11 messages at 10/s (ideally 1000 ms) took {(slow[^1] - slow[0]).TotalMilliseconds} ms");
        Assert.True(fast[^1] < slow[^1], "fast.test is not held behind slow.test");
    }

    [Fact]
    public async Task Domains_whose_MX_hosts_share_a_suffix_share_one_budget()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Shaping = new ShapingOptions
        {
            Rules = [new ShapingRule { Name = "bigmail", Match = new ShapingMatch { MxSuffixes = [".bigmail.test"] }, MessagesPerSecond = 10, Burst = 1 }],
        };
        h.Sites["one.test"] = "mx1.bigmail.test,mx2.bigmail.test";
        h.Sites["two.test"] = "mx1.bigmail.test,mx2.bigmail.test";
        await h.StartAsync();
        for (int i = 0; i < 6; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@one.test");
            await h.SendAsync("s@sender.test", $"r{i}@two.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 12, "all are delivered");
        DateTime[] starts = [.. h.Agent.Attempts.Select(a => a.StartedAt).Order()];
        Assert.True(starts[^1] - starts[0] >= TimeSpan.FromMilliseconds(770), $"12 messages over one 10/s budget (ideally 1100 ms) took {(starts[^1] - starts[0]).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task A_rule_with_one_connection_never_has_two_attempts_at_once()
    {
        int concurrent = 0, peak = 0;
        await using var h = new QueueTestHarness(async (r, _) =>
        {
            int now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref peak, now);
            await Task.Delay(20);
            Interlocked.Decrement(ref concurrent);
            return await Deliver(r);
        });
        h.Shaping = new ShapingOptions { Rules = [new ShapingRule { Name = "one", Match = new ShapingMatch { Domains = ["one.test"] }, MaxConnections = 1 }] };
        await h.StartAsync();
        for (int i = 0; i < 15; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@one.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 15, "all are delivered (each release admits the next)");
        Assert.Equal(1, peak);
    }

    [Fact]
    public async Task A_suspended_source_gets_no_attempts_and_the_pool_uses_the_other()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Shaping = new ShapingOptions { Sources = [Source("a", 2), Source("b", 3)] };
        await h.StartAsync();
        h.Shaper!.SuspendSource("a");
        for (int i = 0; i < 10; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@one.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 10, "all are delivered");
        Assert.All(h.Agent.Attempts, a => Assert.Equal("127.0.0.3", a.SourceAddress));
    }

    [Fact]
    public async Task A_rules_recipient_limit_splits_transactions_further()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Shaping = new ShapingOptions { Rules = [new ShapingRule { Name = "small", Match = new ShapingMatch { Domains = ["one.test"] }, MaxRecipientsPerTransaction = 2 }] };
        await h.StartAsync();
        await h.SendAsync("s@sender.test", [.. Enumerable.Range(0, 5).Select(i => $"r{i}@one.test"), "x@other.test"], "x\r\n"u8.ToArray());

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 6, "all are delivered");
        Assert.Equal([1, 2, 2], h.Agent.Attempts.Where(a => a.Domain == "one.test").Select(a => a.Recipients.Length).Order().ToArray());
        Assert.Single(h.Agent.Attempts, a => a.Domain == "other.test");
    }

    [Fact]
    public async Task A_suspended_destination_resumes_under_shaping()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Shaping = new ShapingOptions();
        await h.StartAsync();
        h.Queue.Suspend("held.test", duration: null);
        await h.SendAsync("s@sender.test", "a@held.test");
        await Task.Delay(200);
        Assert.Empty(h.Agent.Attempts);

        Assert.True(h.Queue.Resume("held.test"));
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 1, "it is delivered after resume");
    }

    [Fact]
    public async Task The_destination_view_shows_a_rate_limited_destination_waiting_for_its_next_token()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Shaping = new ShapingOptions { Rules = [new ShapingRule { Name = "slow", Match = new ShapingMatch { Domains = ["slow.test"] }, MessagesPerMinute = 1, Burst = 1 }] };
        h.Sites["slow.test"] = "mx.slow.test";
        await h.StartAsync();
        for (int i = 0; i < 3; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@slow.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 1, "the first is delivered");
        await WaitUntilAsync(() => h.Queue.GetDestinationQueues(10).Any(d => d.ShapedUntil is not null && d.WaitingTransactions == 2), "the rest wait for a token");
        DestinationQueueInfo slow = h.Queue.GetDestinationQueues(10).Single();
        Assert.Equal(("default", "slow.test", "mx.slow.test", "slow", 2, false, false), (slow.Pool, slow.Domain, slow.Site, slow.Rule, slow.WaitingRecipients, slow.WaitingForConnection, slow.Suspended));
        Assert.InRange(slow.ShapedUntil!.Value, DateTimeOffset.UtcNow.AddSeconds(30), DateTimeOffset.UtcNow.AddSeconds(61));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
