using System.Collections.Concurrent;
using System.Diagnostics;

namespace FastMta.Spool.Tests;

/// <summary>
/// A disk that fails writes (ENOSPC, EIO), under the spool's guard and, for the committer, above it. For each fault:
/// the waiting message gets its documented refusal at once, the spool says why, nothing acknowledged is lost (every
/// message whose commit completed is read back after reopening), and the spool takes mail again by itself when the
/// disk does.
/// </summary>
public sealed class StorageFaultTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(28u, SpoolUnavailableReason.NoSpace, "No space left on device (ENOSPC, errno 28)")]
    [InlineData(5u, SpoolUnavailableReason.StorageFailed, "(EIO, errno 5)")]
    public async Task AFailingWriteIsHeldTheSpoolRefusesWithTheReasonAndRecoversWhenTheDiskDoes(uint errno, SpoolUnavailableReason reason, string words)
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024);
        var log = new ListLogger();
        var acknowledged = new List<SpoolMessageId>();
        FaultingDevice? disk = null;
        var hooks = new SpoolDeviceHooks { BelowGuard = d => disk = new FaultingDevice(d), RetryInterval = TimeSpan.FromMilliseconds(100) };
        await using (MessageSpool spool = await temp.OpenAsync(hooks, log))
        {
            for (int i = 0; i < 5; i++)
            {
                acknowledged.Add(await TempSpool.WriteAsync(spool, TempSpool.Body(100 + (i * 20_000), i)));
            }

            disk!.FailWith(errno);
            var started = Stopwatch.StartNew();
            SpoolUnavailableException refused = await Assert.ThrowsAsync<SpoolOutOfServiceException>(
                () => TempSpool.WriteAsync(spool, TempSpool.Body(50_000, 99)));
            // At once, not at the commit timeout (30 s here): the failed write, not a deadline, decided it.
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"refused after {started.Elapsed}");
            Assert.Equal(reason, refused.Reason);
            Assert.Contains(words, refused.Message);
            Assert.Equal(reason, spool.Unavailable?.Reason);
            Assert.True(spool.Unavailable!.IsLatched);
            Assert.Contains(log.Lines, l => l.Contains(words, StringComparison.Ordinal) && l.Contains("held and retried", StringComparison.Ordinal));
            Assert.DoesNotContain(log.Lines, l => l.Contains("4294967295", StringComparison.Ordinal));

            // While latched every commit is refused the same way, without waiting.
            await Assert.ThrowsAsync<SpoolOutOfServiceException>(() => TempSpool.WriteAsync(spool, TempSpool.Body(10, 98)));
            await Task.Delay(500);
            Assert.True(disk.FailedWrites >= 2, $"{disk.FailedWrites} failed writes: the held write is retried");

            disk.Heal();
            var healed = Stopwatch.StartNew();
            while (spool.Unavailable is not null && healed.Elapsed < Bound)
            {
                await Task.Delay(50);
            }

            Assert.Null(spool.Unavailable);
            Assert.Contains(log.Lines, l => l.Contains("writable again", StringComparison.Ordinal));
            for (int i = 0; i < 3; i++)
            {
                acknowledged.Add(await TempSpool.WriteAsync(spool, TempSpool.Body(300 + (i * 30_000), 10 + i)));
            }
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        List<SpooledMessage> all = await TempSpool.ReadAllAsync(reopened);
        Assert.All(acknowledged, id => Assert.Single(all, m => m.Id == id));
        Assert.InRange(all.Count, acknowledged.Count, acknowledged.Count + 2); // the two refused ones may have become durable
    }

    [Fact]
    public async Task ManyWritersDuringAFullDiskLoseNothingAcknowledged()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024);
        FaultingDevice? disk = null;
        var hooks = new SpoolDeviceHooks { BelowGuard = d => disk = new FaultingDevice(d), RetryInterval = TimeSpan.FromMilliseconds(50) };
        var acknowledged = new ConcurrentBag<SpoolMessageId>();
        int refusedNoSpace = 0;
        await using (MessageSpool spool = await temp.OpenAsync(hooks))
        {
            using var stop = new CancellationTokenSource();
            Task[] writers = Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        acknowledged.Add(await TempSpool.WriteAsync(spool, TempSpool.Body(i * 7919 % 40_000, (w * 1000) + i), piece: 4096));
                    }
                    catch (SpoolUnavailableException e) when (e.Reason == SpoolUnavailableReason.NoSpace)
                    {
                        Interlocked.Increment(ref refusedNoSpace);
                        await Task.Delay(10);
                    }
                }
            })).ToArray();

            await Task.Delay(300);
            disk!.FailWith(28);
            await Task.Delay(700);
            disk.Heal();
            await Task.Delay(700);
            stop.Cancel();
            await Task.WhenAll(writers).WaitAsync(Bound);
        }

        Assert.True(refusedNoSpace > 0);
        await using MessageSpool reopened = await temp.OpenAsync();
        var found = (await TempSpool.ReadAllAsync(reopened)).GroupBy(m => m.Id).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(acknowledged, id => Assert.Equal(1, found.GetValueOrDefault(id)));
    }

    [Fact]
    public async Task ClosingWhileTheDiskIsFullEndsWithinBoundsAndLosesNothingAcknowledged()
    {
        using var temp = new TempSpool();
        FaultingDevice? disk = null;
        var acknowledged = new List<SpoolMessageId>();
        MessageSpool spool = await temp.OpenAsync(new SpoolDeviceHooks { BelowGuard = d => disk = new FaultingDevice(d), RetryInterval = TimeSpan.FromMilliseconds(100) });
        for (int i = 0; i < 3; i++)
        {
            acknowledged.Add(await TempSpool.WriteAsync(spool, TempSpool.Body(1000 + i, i)));
        }

        disk!.FailWith(28);
        await Assert.ThrowsAsync<SpoolOutOfServiceException>(() => TempSpool.WriteAsync(spool, TempSpool.Body(10, 9)));
        var closing = Stopwatch.StartNew();
        await spool.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60)); // the final commit cannot complete: given up after 5 s
        Assert.True(closing.Elapsed < TimeSpan.FromSeconds(45), $"closing took {closing.Elapsed}");

        await using MessageSpool reopened = await temp.OpenAsync();
        List<SpooledMessage> all = await TempSpool.ReadAllAsync(reopened);
        Assert.All(acknowledged, id => Assert.Single(all, m => m.Id == id));
        await TempSpool.WriteAsync(reopened, TempSpool.Body(10, 7));
    }

    [Fact]
    public async Task ACommitterThatFailsIsRestartedReportedAndLosesNothingAcknowledged()
    {
        // Above the guard FasterLog sees the write error itself: its commits fail from then on (FASTER cannot take a
        // write error back, which is why the guard exists). The committer's loop must not die silently.
        using var temp = new TempSpool();
        var log = new ListLogger();
        FaultingDevice? device = null;
        var acknowledged = new List<SpoolMessageId>();
        await using (MessageSpool spool = await temp.OpenAsync(new SpoolDeviceHooks { AboveGuard = d => device = new FaultingDevice(d) }, log))
        {
            for (int i = 0; i < 3; i++)
            {
                acknowledged.Add(await TempSpool.WriteAsync(spool, TempSpool.Body(1000 + i, i)));
            }

            device!.FailWith(5);
            SpoolUnavailableException refused = await Assert.ThrowsAsync<SpoolOutOfServiceException>(() => TempSpool.WriteAsync(spool, TempSpool.Body(10, 9)));
            Assert.Equal(SpoolUnavailableReason.StorageFailed, refused.Reason);
            var waited = Stopwatch.StartNew();
            while (log.Lines.Count(l => l.Contains("Spool committer failed", StringComparison.Ordinal)) < 2 && waited.Elapsed < Bound)
            {
                await Task.Delay(50);
            }

            // Restarted (the second failure is a restart's attempt), still reported, and appends refused meanwhile.
            Assert.True(log.Lines.Count(l => l.Contains("Spool committer failed", StringComparison.Ordinal)) >= 2, string.Join("\n", log.Lines));
            Assert.Equal(SpoolUnavailableReason.StorageFailed, spool.Unavailable?.Reason);
            Assert.True(spool.Unavailable!.IsLatched);
            Assert.Contains("committer failed", spool.Unavailable.Message);
            await Assert.ThrowsAsync<SpoolOutOfServiceException>(() => TempSpool.WriteAsync(spool, TempSpool.Body(10, 8)));
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        List<SpooledMessage> all = await TempSpool.ReadAllAsync(reopened);
        Assert.All(acknowledged, id => Assert.Single(all, m => m.Id == id));
        await TempSpool.WriteAsync(reopened, TempSpool.Body(10, 7)); // and a fresh process takes mail again
    }
}
