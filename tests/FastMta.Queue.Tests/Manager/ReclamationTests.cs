using static FastMta.Queue.Tests.Manager.QueueTestHarness;

namespace FastMta.Queue.Tests.Manager;

public sealed class ReclamationTests
{
    private static readonly byte[] Body = new byte[20_000];

    [Fact]
    public async Task Once_every_message_is_final_the_log_is_truncated_to_the_tail()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        await h.StartAsync();
        for (int i = 0; i < 30; i++)
        {
            await h.SendAsync("s@sender.test", [$"r{i}@one.test"], Body);
        }

        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "everything is delivered");
        long tail = h.Spool.TailAddress;
        await h.Queue.ReclaimAsync(CancellationToken.None);
        Assert.True(h.Spool.BeginAddress >= tail - 64, $"begin {h.Spool.BeginAddress}, tail {tail}");
    }

    [Fact]
    public async Task A_deferred_message_holds_truncation_back_until_it_is_copied_forward_and_keeps_its_state()
    {
        int aAttempts = 0;
        await using var h = new QueueTestHarness((r, _) =>
            r.Domain == "later.test" && Interlocked.Increment(ref aAttempts) == 1
                ? Task.FromResult(All(r, RecipientOutcome.Deferred, 451, "4.2.0", "later"))
                : Deliver(r));
        h.Options.RetrySchedule = [TimeSpan.FromHours(1)]; // A stays deferred however slow the machine is
        h.Options.CopyForwardDistance = long.MaxValue;
        await h.StartAsync();
        long beforeA = h.Spool.TailAddress;
        await h.SendAsync("s@sender.test", ["a@later.test"], Body);
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.TransientFailure) == 1, "A is deferred");
        for (int i = 0; i < 30; i++)
        {
            await h.SendAsync("s@sender.test", [$"r{i}@one.test"], Body);
        }

        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 30, "the others are delivered");
        await h.Queue.ReclaimAsync(CancellationToken.None);
        Assert.True(h.Spool.BeginAddress <= beforeA + 64, "the deferred message pins the log");

        h.Options.CopyForwardDistance = 64 * 1024; // read on each pass
        await h.Queue.ReclaimAsync(CancellationToken.None);
        Assert.True(h.Spool.BeginAddress > beforeA + Body.Length, $"after the copy the log is truncated past it (begin {h.Spool.BeginAddress})");

        await h.RestartAsync();
        Assert.Equal(1, h.Queue.MessageCount);
        QueuedRecipientInfo carried = h.Queue.ListMessages("later.test", 1).Single().Recipients.Single();
        Assert.Equal(("deferred", 1), (carried.Status, carried.Attempts));
        Assert.Equal(1, h.Queue.RetryNow("later.test"));
        await WaitUntilAsync(() => h.Events.Events.Any(e => e.Type == DeliveryEventType.Delivery && e.Domain == "later.test"), "A is delivered when retried");
        DeliveryEvent delivered = h.Events.Events.Single(e => e.Type == DeliveryEventType.Delivery && e.Domain == "later.test");
        Assert.Equal(2, delivered.Attempt); // the copy carried its first attempt across the move and the restart
        Assert.Equal(2, aAttempts);
    }
}
