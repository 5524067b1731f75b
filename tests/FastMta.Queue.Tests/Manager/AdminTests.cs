using Microsoft.Extensions.Time.Testing;
using static FastMta.Queue.Tests.Manager.QueueTestHarness;

namespace FastMta.Queue.Tests.Manager;

public sealed class AdminTests
{
    private static QueueTestHarness DeferringFor(string domain) =>
        new((r, _) => r.Domain == domain ? Task.FromResult(All(r, RecipientOutcome.Deferred, 451, "4.7.1", "slow down")) : Deliver(r));

    [Fact]
    public async Task A_suspended_destination_gets_no_attempts_until_resumed_and_others_are_unaffected()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        await h.StartAsync();
        h.Queue.Suspend("held.test", duration: null);
        await h.SendAsync("s@sender.test", "a@held.test", "b@free.test");

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 1, "free.test is delivered");
        await Task.Delay(300);
        Assert.DoesNotContain(h.Agent.Attempts, a => a.Domain == "held.test");
        QueueSummary summary = h.Queue.GetSummary();
        DestinationSummary held = Assert.Single(summary.Destinations, d => d.Domain == "held.test");
        Assert.Null(held.SuspendedUntil); // indefinitely
        Assert.Equal(1, held.InFlight + held.Pending);

        Assert.True(h.Queue.Resume("held.test"));
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 2, "held.test is delivered after resume");
    }

    [Fact]
    public async Task A_timed_suspension_ends_by_itself()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        h.Time = clock;
        await h.StartAsync();
        h.Queue.Suspend("held.test", TimeSpan.FromSeconds(2));
        await h.SendAsync("s@sender.test", "a@held.test");

        await Task.Delay(200); // a scheduler that ignored the suspension would start the attempt within this
        Assert.Empty(h.Agent.Attempts);
        clock.Advance(TimeSpan.FromSeconds(2));
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 1, "it is delivered when the suspension ends");
        Assert.Empty(h.Queue.Suspensions());
    }

    [Fact]
    public async Task Retry_now_makes_deferred_recipients_due_at_once()
    {
        int calls = 0;
        await using var h = new QueueTestHarness((r, _) => Interlocked.Increment(ref calls) == 1
            ? Task.FromResult(All(r, RecipientOutcome.Deferred, 451, "4.2.0", "later"))
            : Deliver(r));
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)];
        await h.StartAsync();
        await h.SendAsync("s@sender.test", "a@one.test");
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 1, "the first attempt is deferred");
        QueuedRecipientInfo deferred = h.Queue.ListMessages("one.test", 10).Single().Recipients.Single();
        Assert.Equal(("deferred", 1), (deferred.Status, deferred.Attempts));
        Assert.True(deferred.NextAttempt > DateTimeOffset.UtcNow.AddMinutes(59));

        Assert.Equal(1, h.Queue.RetryNow("one.test"));
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 1, "it is delivered at once");
    }

    [Fact]
    public async Task Bouncing_a_domain_fails_its_queued_recipients_with_a_DSN_and_leaves_other_domains_alone()
    {
        await using QueueTestHarness h = DeferringFor("stuck.test");
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)];
        await h.StartAsync();
        for (int i = 0; i < 3; i++)
        {
            await h.SendAsync("alice@sender.test", $"r{i}@stuck.test");
        }

        await h.SendAsync("alice@sender.test", "x@stuck.test", "y@fine.test");
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 4, "stuck.test defers everything");

        AdminOutcome outcome = await h.Queue.FailAllAsync("stuck.test", sendDsn: true, "destination gone", CancellationToken.None);

        Assert.Equal(new AdminOutcome(4, 4, 0), outcome);
        await WaitUntilAsync(() => h.Agent.Attempts.Count(a => a.Sender == "") == 4, "four DSNs are delivered");
        Assert.All(h.Events.Events.Where(e => e.Type == DeliveryEventType.Bounce), e => Assert.Contains("bounced by the administrator: destination gone", e.Response));
        Assert.Equal(1, h.Events.Events.Where(e => e.Type == DeliveryEventType.Bounce).Select(e => e.Attempt).Max()); // not counted as an attempt
        Assert.Single(h.Events.Events, e => e.Type == DeliveryEventType.Delivery && e.Recipient == "y@fine.test");
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "the queue is empty");
    }

    [Fact]
    public async Task Deleting_a_domain_sends_no_DSN()
    {
        await using QueueTestHarness h = DeferringFor("stuck.test");
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)];
        await h.StartAsync();
        await h.SendAsync("alice@sender.test", "a@stuck.test");
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 1, "it is deferred");

        AdminOutcome outcome = await h.Queue.FailAllAsync("stuck.test", sendDsn: false, "spam run", CancellationToken.None);

        Assert.Equal(1, outcome.Recipients);
        Assert.Equal(0, h.Queue.MessageCount);
        await Task.Delay(300);
        Assert.DoesNotContain(h.Agent.Attempts, a => a.Sender == "");
    }

    [Fact]
    public async Task The_summary_and_lookups_describe_the_live_queue()
    {
        await using QueueTestHarness h = DeferringFor("slow.test");
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)];
        await h.StartAsync();
        var id = await h.SendAsync("alice@sender.test", "a@slow.test", "b@slow.test");
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 2, "both are deferred");

        QueueSummary summary = h.Queue.GetSummary();
        Assert.Equal((1, 0, 0, 2, 1), (summary.Messages, summary.Pending, summary.InFlight, summary.Deferred, summary.DestinationCount));
        DestinationSummary slow = summary.Destinations.Single();
        Assert.Equal(("slow.test", 1, 2), (slow.Domain, slow.Messages, slow.Deferred));
        Assert.NotNull(slow.NextAttempt);
        QueuedMessageInfo? found = h.Queue.FindMessage(id.ToString());
        Assert.NotNull(found);
        Assert.Equal("alice@sender.test", found.Sender);
        Assert.Equal(["a@slow.test", "b@slow.test"], found.Recipients.Select(r => r.Address));
        Assert.Null(h.Queue.FindMessage("0000000000000"));
        Assert.Empty(h.Queue.ListMessages("other.test", 10));
    }
}
