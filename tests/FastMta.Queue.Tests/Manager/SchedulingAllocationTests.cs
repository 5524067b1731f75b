using FastMta.Shaping;
using static FastMta.Queue.Tests.Manager.QueueTestHarness;

namespace FastMta.Queue.Tests.Manager;

// Issue 6's budget: a scheduling decision in steady state allocates 0 bytes. A decision is what the scheduler does per
// due message and per transaction it starts: take the message off the due heap, group its due recipients by domain
// into transactions on their destinations' ready queues, and pick the next destination round-robin (with shaping: the
// admission too). The delivery itself (I/O, async state) is not part of it. The queue is paused, so the scheduler task
// stays out of the way and this thread alone runs the real planning code through DecideNext. The BDN benchmark
// (bench/FastMta.Benchmarks/Queue) shows the same figure; this test makes a regression fail the build.
public sealed class SchedulingAllocationTests
{
    private static readonly string[] Recipients =
    [
        "a@one.test", "b@Two.test", "c@one.test", "d@three.test", "e@TWO.test", "f@one.test", "g@[192.0.2.7]",
    ];

    [Fact]
    public async Task Planning_and_picking_transactions_allocates_nothing_in_steady_state()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Options.Paused = true;
        await h.StartAsync();
        await h.SendAsync("s@sender.test", Recipients);
        await h.SendAsync("t@sender.test", "x@one.test");

        Assert.Equal(0, MeasureDecisions(h.Queue, expectedPerRound: 5)); // one.test twice (two messages), two, three, the literal
    }

    [Fact]
    public async Task With_traffic_shaping_admission_allocates_nothing_either()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Options.Paused = true;
        h.Shaping = new ShapingOptions();
        await h.StartAsync();
        await h.SendAsync("s@sender.test", Recipients);

        Assert.Equal(0, MeasureDecisions(h.Queue, expectedPerRound: 4));
    }

    // Each round takes every ready transaction and hands it back, so the same messages are planned again: the
    // steady state of a queue whose work keeps coming due. Assertions stay out of the measured loop.
    private static long MeasureDecisions(QueueManager queue, int expectedPerRound)
    {
        var taken = new (DeliveryWork Work, AttemptSlot Slot)[64];
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        int Round()
        {
            int n = 0;
            while (queue.DecideNext(now, out AttemptSlot slot) is { } work)
            {
                taken[n++] = (work, slot);
            }

            for (int i = 0; i < n; i++)
            {
                queue.ReturnUnstarted(taken[i].Work, taken[i].Slot);
            }

            return n;
        }

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expectedPerRound, Round()); // JIT, pool and buffer growth out of the way
        }

        bool ok = true;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++)
        {
            ok &= Round() == expectedPerRound;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(ok, "every round planned the same transactions");
        return allocated;
    }
}

public sealed class PausedQueueTests
{
    [Fact]
    public async Task A_paused_queue_indexes_mail_but_delivers_only_after_resume_and_restart_keeps_it_paused()
    {
        await using var h = new QueueTestHarness((r, _) => Deliver(r));
        h.Options.Paused = true;
        await h.StartAsync();
        await h.SendAsync("s@sender.test", "a@one.test", "b@two.test");
        await h.SendAsync("s@sender.test", "c@one.test");

        Assert.Equal(2, h.Queue.MessageCount);
        Assert.Equal(3, h.Queue.GetSummary().Pending);
        await Task.Delay(300); // a scheduler that ignored the pause would start attempts within this time
        Assert.Empty(h.Agent.Attempts);

        await h.RestartAsync(); // the option holds across restarts; the queue is rebuilt from the spool
        Assert.True(h.Queue.Paused);
        Assert.Equal(2, h.Queue.MessageCount);

        h.Queue.Paused = false;
        await WaitUntilAsync(() => h.Events.Count(DeliveryEventType.Delivery) == 3, "everything is delivered after resume");
        await WaitUntilAsync(() => h.Queue.MessageCount == 0, "the delivered messages leave the queue");
    }
}
