using System.Diagnostics;

namespace FastMta.Spool.Tests;

/// <summary>
/// The commit itself fails on the device: a message's body chunks have reached the disk (their pages filled and were
/// written), then the write that makes its commit durable (the last page, with the envelope and FASTER's commit
/// record) fails. Below the spool's storage guard the guard holds it (a disk's ENOSPC or EIO); above it FasterLog's own
/// commit fails (what the guard exists to prevent, so the committer restarts). Either way the caller gets no success
/// (the listener that precedes a 250 is not called and the commit throws the typed out-of-service error with its
/// reason), and after a restart every message that was acknowledged is there, whole.
/// </summary>
public sealed class CommitFailureTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(true, 28u, SpoolUnavailableReason.NoSpace)]
    [InlineData(true, 5u, SpoolUnavailableReason.StorageFailed)]
    [InlineData(false, 5u, SpoolUnavailableReason.StorageFailed)]
    public async Task ACommitThatFailsOnTheDeviceIsNotAcknowledgedIsTypedAndLosesNothingAcknowledged(bool belowGuard, uint errno, SpoolUnavailableReason reason)
    {
        // 64 KiB pages and 16 KiB chunks: a 300 KiB body fills several pages, which FasterLog writes as they fill.
        using var temp = new TempSpool(chunkSize: 16 * 1024, pageSizeBits: 16);
        FaultingDevice? disk = null;
        SpoolDeviceHooks hooks = belowGuard
            ? new SpoolDeviceHooks { BelowGuard = d => disk = new FaultingDevice(d), RetryInterval = TimeSpan.FromMilliseconds(100) }
            : new SpoolDeviceHooks { AboveGuard = d => disk = new FaultingDevice(d) };
        var acknowledged = new List<(SpoolMessageId Id, byte[] Body)>();
        var listened = new List<SpoolMessageId>();
        byte[] refusedBody = TempSpool.Body(300 * 1024, 77);
        SpoolMessageId refusedId;
        await using (MessageSpool spool = await temp.OpenAsync(hooks))
        {
            spool.SetCommitListener(new CommitRecorder(e => listened.Add(e.Id)));
            for (int i = 0; i < 3; i++)
            {
                byte[] body = TempSpool.Body(1000 + (i * 30_000), i);
                acknowledged.Add((await TempSpool.WriteAsync(spool, body), body));
            }

            using MessageWriter writer = spool.CreateWriter();
            refusedId = writer.Id;
            writer.SetSender("s@example.test"u8, default);
            writer.AddRecipient("r@example.test"u8, default);
            writer.SetOrigin("192.0.2.1", "client.example.test", null, "ESMTP");
            await TempSpool.WriteBodyAsync(writer, refusedBody, piece: 8192);

            // The body's full pages are on the disk before anything fails: only the commit's own write is refused.
            long pageStart = spool.TailAddress & ~((1L << temp.Options.PageSizeBits) - 1);
            var flushing = Stopwatch.StartNew();
            while (disk!.WrittenUntil < pageStart && flushing.Elapsed < Bound)
            {
                await Task.Delay(20);
            }

            Assert.True(disk.WrittenUntil >= pageStart, $"the body's pages were not written: {disk.WrittenUntil} < {pageStart}");

            // A message acknowledged after the body's data writes, just before the commit that fails.
            byte[] last = TempSpool.Body(500, 50);
            acknowledged.Add((await TempSpool.WriteAsync(spool, last), last));
            Assert.Equal(acknowledged.Select(a => a.Id), listened); // each acknowledged message was handed to the listener, in commit order

            disk.FailWith(errno);
            SpoolOutOfServiceException refused = await Assert.ThrowsAsync<SpoolOutOfServiceException>(async () => await writer.CommitAsync(CancellationToken.None));
            Assert.Equal(reason, refused.Reason);
            Assert.True(refused.IsLatched);
            Assert.DoesNotContain(refusedId, listened); // nothing that precedes a 250 happened for it
            Assert.Equal(reason, spool.Unavailable?.Reason);
            // The refused transaction cannot be committed after all: it has to start over (the client retries).
            Assert.Throws<InvalidOperationException>(() => { _ = writer.CommitAsync(CancellationToken.None); });
            await Assert.ThrowsAsync<SpoolOutOfServiceException>(() => TempSpool.WriteAsync(spool, TempSpool.Body(10, 9)));
            Assert.Equal(4, listened.Count);
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        List<SpooledMessage> all = await TempSpool.ReadAllAsync(reopened);
        foreach ((SpoolMessageId id, byte[] body) in acknowledged)
        {
            Assert.Equal(body, Assert.Single(all, m => m.Id == id).Body.ToArray());
        }

        // The refused message may have become durable after all (a held write that succeeded at shutdown): the client
        // was told to retry, so that is a duplicate at worst, never a loss; if it is there it is whole.
        Assert.All(all.Where(m => m.Id == refusedId), m => Assert.Equal(refusedBody, m.Body.ToArray()));
        await TempSpool.WriteAsync(reopened, TempSpool.Body(10, 7)); // and the spool takes mail again
    }
}
