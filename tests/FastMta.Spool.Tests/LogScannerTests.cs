using System.Diagnostics.Metrics;

namespace FastMta.Spool.Tests;

/// <summary>
/// Every reader of the whole log (the rebuild's Scan, ReadMessagesAsync, the raw listing) is the one scanner: entries
/// into one reused buffer, the same gap and corruption checks, the same orphan count.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class LogScannerTests
{
    [Fact]
    public async Task ReadingEveryMessageAllocatesTheBodiesAndNotACopyOfEveryEntry()
    {
        // 200 messages of 32 KiB, each one entry (inline). The plain FasterLog GetNext allocated an array per entry,
        // so the read cost the entries plus the reassembled bodies: twice the data.
        const int Count = 200;
        const int Length = 32 * 1024;
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        for (int i = 0; i < Count; i++)
        {
            await TempSpool.WriteAsync(spool, TempSpool.Body(Length, i));
        }

        long allocated = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            int read = 0;
            await foreach (SpooledMessage message in spool.ReadMessagesAsync())
            {
                Assert.Equal(Length, message.Body.Length);
                read++;
            }

            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
            Assert.Equal(Count, read);
        }

        long bodies = (long)Count * Length;
        Assert.True(allocated < bodies * 5 / 4, $"{allocated} bytes allocated to read {bodies} bytes of bodies");
    }

    [Fact]
    public async Task TheRebuildAndTheMessageReaderSeeTheSameMessagesAndCountTheSameOrphans()
    {
        using var temp = new TempSpool(chunkSize: 4096);
        await using MessageSpool spool = await temp.OpenAsync();
        SpoolMessageId[] ids = [await TempSpool.WriteAsync(spool, TempSpool.Body(10_000, 1)), await TempSpool.WriteAsync(spool, TempSpool.Body(100, 2))];
        using (MessageWriter abandoned = spool.CreateWriter())
        {
            // Two full chunks appended, then the client went away: orphans.
            abandoned.AddRecipient("r@example.test"u8, default);
            await TempSpool.WriteBodyAsync(abandoned, TempSpool.Body(3 * 4096, 3), piece: 4096);
        }

        ids = [.. ids, await TempSpool.WriteAsync(spool, TempSpool.Body(5000, 4))];
        long orphans = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument is { Name: "fastmta.spool.orphan.chunks.skipped", Meter.Name: "FastMta.Spool" })
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref orphans, value));
        listener.Start();

        var scanned = new CollectingVisitor();
        spool.Scan(scanned);
        long orphansByScan = Interlocked.Exchange(ref orphans, 0);
        List<SpooledMessage> read = await TempSpool.ReadAllAsync(spool);
        long orphansByRead = Interlocked.Read(ref orphans);

        Assert.Equal(ids, scanned.Envelopes.Select(e => e.Id));
        Assert.Equal(ids, read.Select(m => m.Id));
        Assert.Equal(scanned.Envelopes.Select(e => e.LogAddress), read.Select(m => m.LogAddress));
        Assert.Equal(3, orphansByScan); // the abandoned message's three full chunks
        Assert.Equal(orphansByScan, orphansByRead);
        // Every entry: three envelopes, the chunks of 10 000 and 5000 bytes (two and one), the three orphans.
        Assert.Equal(3 + 2 + 1 + 3, spool.ReadRawEntries().Count);
    }
}
