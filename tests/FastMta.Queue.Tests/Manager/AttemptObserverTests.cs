using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using FastMta.Shaping;
using FastMta.Spool;
using static FastMta.Queue.Tests.Manager.QueueTestHarness;

namespace FastMta.Queue.Tests.Manager;

// The per-attempt observer seam with a real spool and a real TrafficShaper: every attempt reaches every observer once,
// with the shaping identity the queue admitted it under, and an observer that breaks its contract costs nothing but
// its own call.
public sealed class AttemptObserverTests
{
    private static readonly EgressSource SourceB = new() { Name = "b", Address = IPAddress.Parse("127.0.0.3"), EhloName = "b.example.test" };

    // Per domain: delivered on a new connection, deferred on a reused one, failed, and a connection failure (two hosts
    // tried, none answered: the agent names the last host it tried, but no connection was made, so no remote host).
    private static Task<DeliveryResult> Script(DeliveryRequest r) => Task.FromResult(r.Domain switch
    {
        "ok.test" => With(All(r, RecipientOutcome.Delivered, 250, "2.0.0"), connections: 1),
        "later.test" => With(All(r, RecipientOutcome.Deferred, 451, "4.7.1", "slow down"), connections: 0),
        "bad.test" => With(All(r, RecipientOutcome.Failed, 550, "5.1.1", "no such user"), connections: 1),
        "down.test" => new DeliveryResult
        {
            Recipients = [.. r.Recipients.Select(_ => new RecipientResult(RecipientOutcome.Deferred, 421, "4.4.1", "connection refused"))],
            RemoteHost = "mx2.down.test",
            ConnectionsOpened = 2,
        },
        _ => All(r, RecipientOutcome.Delivered, 250, "2.0.0"),
    });

    private static DeliveryResult With(DeliveryResult result, int connections) => new()
    {
        Recipients = result.Recipients,
        RemoteHost = result.RemoteHost,
        RemoteAddress = result.RemoteAddress,
        SourceAddress = result.SourceAddress,
        ConnectionsOpened = connections,
    };

    [Fact]
    public async Task An_observer_sees_every_attempt_once_with_its_shaping_identity()
    {
        await using var h = new QueueTestHarness((r, _) => Script(r));
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)]; // one attempt each
        h.Shaping = new ShapingOptions
        {
            Sources = [SourceB, new EgressSource { Name = "a", Address = IPAddress.Parse("127.0.0.2") }],
            Pools =
            [
                new EgressPool { Name = "default", Members = [new PoolMember { SourceName = "a", Weight = 1 }] },
                new EgressPool { Name = "bulk", Members = [new PoolMember { SourceName = "b", Weight = 1 }] },
            ],
            Rules = [new ShapingRule { Name = "ruled", Match = new ShapingMatch { Domains = ["ok.test"] } }],
        };
        h.Sites["ok.test"] = "mx1.ok.test,mx2.ok.test";
        var observer = new RecordingObserver();
        h.Observers.Add(observer);
        await h.StartAsync();
        byte[] body = "Subject: t\r\n\r\nhello\r\n"u8.ToArray();
        var ids = new Dictionary<string, SpoolMessageId>();
        foreach (string domain in new[] { "ok.test", "later.test", "bad.test", "down.test" })
        {
            ids[domain] = await h.SendAsync("s@sender.test", [$"r@{domain}"], body, pool: "bulk");
        }

        // Four attempts, and the DSN for bad.test (from the default pool) is a fifth.
        await WaitUntilAsync(() => h.Events.Events.Count(e => e.Type != DeliveryEventType.Reception) == 5, "every attempt's outcome is recorded");
        await Task.Delay(100); // an observer called twice for one attempt would show up within this
        Assert.Equal(5, observer.Records.Count);

        AttemptRecord ok = Assert.Single(observer.Records, a => a.Domain == "ok.test");
        Assert.Equal((ids["ok.test"], new DestinationKey("bulk", "ok.test"), "bulk", "b", "127.0.0.3", "ruled", "mx1.ok.test,mx2.ok.test", "mx.ok.test", 1),
            (ok.MessageId, ok.Destination, ok.Pool, ok.SourceName, ok.SourceAddress?.ToString(), ok.RuleName, ok.Site, ok.RemoteHost, ok.ConnectionsOpened));
        Assert.Equal([RecipientOutcome.Delivered], ok.Recipients.Select(x => x.Outcome));
        Assert.True(ok.Duration > TimeSpan.Zero);

        AttemptRecord later = Assert.Single(observer.Records, a => a.Domain == "later.test");
        Assert.Equal((ids["later.test"], "bulk", "b", "default", "later.test", "mx.later.test", 0),
            (later.MessageId, later.Pool, later.SourceName, later.RuleName, later.Site, later.RemoteHost, later.ConnectionsOpened));
        Assert.Equal([(RecipientOutcome.Deferred, 451)], later.Recipients.Select(x => (x.Outcome, x.ReplyCode)));

        AttemptRecord bad = Assert.Single(observer.Records, a => a.Domain == "bad.test");
        Assert.Equal((ids["bad.test"], "bulk", "b", "default", 1), (bad.MessageId, bad.Pool, bad.SourceName, bad.RuleName, bad.ConnectionsOpened));
        Assert.Equal([(RecipientOutcome.Failed, "5.1.1")], bad.Recipients.Select(x => (x.Outcome, x.EnhancedStatus)));

        AttemptRecord down = Assert.Single(observer.Records, a => a.Domain == "down.test");
        Assert.Equal((ids["down.test"], "bulk", "b", "down.test", null, 2), (down.MessageId, down.Pool, down.SourceName, down.Site, down.RemoteHost, down.ConnectionsOpened));
        Assert.Equal([(RecipientOutcome.Deferred, 421)], down.Recipients.Select(x => (x.Outcome, x.ReplyCode)));

        AttemptRecord dsn = Assert.Single(observer.Records, a => a.Domain == "sender.test");
        Assert.Equal(("default", "a", "127.0.0.2"), (dsn.Pool, dsn.SourceName, dsn.SourceAddress?.ToString()));

        // The delivery events of the attempts carry the same identity.
        DeliveryEvent delivered = h.Events.Events.Single(e => e.Type == DeliveryEventType.Delivery && e.Domain == "ok.test");
        Assert.Equal(("bulk", "b", "ruled", "mx1.ok.test,mx2.ok.test"), (delivered.Pool, delivered.Source, delivered.Rule, delivered.Site));
        DeliveryEvent deferred = h.Events.Events.Single(e => e.Type == DeliveryEventType.TransientFailure && e.Domain == "down.test");
        Assert.Equal(("bulk", "b", "default", "down.test"), (deferred.Pool, deferred.Source, deferred.Rule, deferred.Site));
    }

    [Fact]
    public async Task An_administrators_bounce_is_no_attempt_for_observers_and_its_events_name_only_the_pool()
    {
        await using var h = new QueueTestHarness((r, _) => Script(r));
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)];
        var observer = new RecordingObserver();
        h.Observers.Add(observer);
        await h.StartAsync();
        await h.SendAsync("s@sender.test", "r@later.test");
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 1, "the first attempt is deferred");

        await h.Queue.FailAllAsync("later.test", sendDsn: false, "cleanup", CancellationToken.None);

        DeliveryEvent bounce = Assert.Single(h.Events.Events, e => e.Type == DeliveryEventType.Bounce);
        Assert.Equal(("default", null, null, null), (bounce.Pool, bounce.Source, bounce.Rule, bounce.Site));
        Assert.Single(observer.Records);
    }

    [Fact]
    public async Task A_throwing_observer_does_not_stop_delivery_nor_the_observers_after_it_and_is_counted()
    {
        long observerErrors = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "FastMta.Queue" && instrument.Name == "fastmta.queue.errors")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag is { Key: "kind", Value: "observer" })
                {
                    Interlocked.Add(ref observerErrors, value);
                }
            }
        });
        listener.Start();

        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        var after = new RecordingObserver();
        h.Observers.Add(new ThrowingObserver());
        h.Observers.Add(after);
        await h.StartAsync();
        for (int i = 0; i < 3; i++)
        {
            await h.SendAsync("s@sender.test", $"r{i}@one.test");
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 3, "every message is delivered");
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "and leaves the queue");
        Assert.Equal(3, after.Records.Count);
        Assert.Equal(3, Interlocked.Read(ref observerErrors));
    }

    private sealed class RecordingObserver : IAttemptObserver
    {
        public ConcurrentQueue<AttemptRecord> Records { get; } = new();

        // A copy of the results: the record's list is only valid during the call.
        public void OnAttempt(in AttemptRecord record) => Records.Enqueue(record with { Recipients = [.. record.Recipients] });
    }

    private sealed class ThrowingObserver : IAttemptObserver
    {
        public void OnAttempt(in AttemptRecord record) => throw new InvalidOperationException("observer bug");
    }
}
