namespace FastMta.Spool.Tests;

public sealed class BackPressureTests
{
    [Fact]
    public async Task StalledCommitFailsWritersWithinTheTimeoutAndTheSpoolRecovers()
    {
        using var temp = new TempSpool();
        await using (MessageSpool warm = await temp.OpenAsync())
        {
            await TempSpool.WriteAsync(warm, TempSpool.Body(10, 1)); // JIT, file creation, first watermark: can be slow
        }

        temp.Options.CommitTimeout = TimeSpan.FromSeconds(1);
        FaultingDevice? disk = null;
        await using MessageSpool spool = await temp.OpenAsync(new SpoolDeviceHooks { BelowGuard = d => disk = new FaultingDevice(d) });
        disk!.Stall(); // a hung disk: the flush neither completes nor fails

        using MessageWriter writer = spool.CreateWriter();
        writer.AddRecipient("a@example.test"u8, default);
        var started = System.Diagnostics.Stopwatch.StartNew();
        SpoolUnavailableException refused = await Assert.ThrowsAsync<SpoolBusyException>(async () => await writer.CommitAsync(CancellationToken.None));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Equal(SpoolUnavailableReason.BackPressure, refused.Reason); // 451 4.3.0: per message, not a latched state
        Assert.Null(spool.Unavailable);
        Assert.True(disk.StalledWrites > 0);

        disk.Heal();
        // The spool recovers: the held writes go through. On a loaded machine the first commit after healing may still
        // miss the test's 1 s timeout, so a refused one is tried again (a client would retry after 451 too).
        var recovering = System.Diagnostics.Stopwatch.StartNew();
        int attempts = 0;
        while (true)
        {
            attempts++;
            writer.Reset();
            writer.AddRecipient("b@example.test"u8, default);
            try
            {
                await writer.CommitAsync(CancellationToken.None);
                break;
            }
            catch (SpoolUnavailableException) when (recovering.Elapsed < TimeSpan.FromSeconds(30))
            {
            }
        }
        // The refused messages may still become durable (the client got 451 and will retry: at-least-once).
        Assert.InRange((await TempSpool.ReadAllAsync(spool)).Count, 2, 2 + attempts);
    }

    // A body flush that fails part-way (here: the client went away while the log's memory was full) has already
    // handed the chunks it appended back to the pool; resetting the writer must not hand them back again (it used to
    // pass a null to ArrayPool.Return and throw out of the session's reset).
    [Fact]
    public async Task AFlushCancelledPartWayLeavesAWriterThatResetsAndWritesTheNextMessage()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024, pageSizeBits: 16, memorySizeBits: 17); // a 128 KiB ring
        FaultingDevice? disk = null;
        await using MessageSpool spool = await temp.OpenAsync(new SpoolDeviceHooks { BelowGuard = d => disk = new FaultingDevice(d) });
        using MessageWriter writer = spool.CreateWriter();
        writer.AddRecipient("a@example.test"u8, default);
        disk!.Stall(); // the ring cannot drain: the first chunks fit, a later one waits for room
        for (int i = 0; i < 20; i++)
        {
            TempSpool.Body(16 * 1024, i).CopyTo(writer.GetSpan(16 * 1024));
            writer.Advance(16 * 1024);
        }
        using (var gone = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.FlushAsync(gone.Token));
        }

        writer.Reset();
        disk.Heal();
        writer.AddRecipient("b@example.test"u8, default);
        byte[] body = TempSpool.Body(1000, 99);
        body.CopyTo(writer.GetSpan(body.Length));
        writer.Advance(body.Length);
        await writer.CommitAsync(CancellationToken.None);
        Assert.Contains(await TempSpool.ReadAllAsync(spool), m => m.Body.Span.SequenceEqual(body));
    }

    [Fact]
    public async Task FirstCommitOfAFreshSpoolMovesTheWatermark()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        Assert.Equal(64, spool.Committer.Watermark);
        await TempSpool.WriteAsync(spool, TempSpool.Body(10, 1));
        Assert.True(spool.Committer.Watermark > 64);
        Assert.Equal(SpoolWatermark.Status.Valid, SpoolWatermark.TryRead(temp.Path, out long onDisk, out _));
        Assert.True(onDisk > 64);
    }

    [Fact]
    public async Task ShutdownDuringWritesLosesNothingAcknowledged()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024);
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<SpoolMessageId>();
        MessageSpool spool = await temp.OpenAsync();
        int count = 0;
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task[] writers = new Task[8];
        for (int w = 0; w < writers.Length; w++)
        {
            int seed = w;
            writers[w] = Task.Run(async () =>
            {
                for (int i = 0; ; i++)
                {
                    try
                    {
                        acknowledged.Add(await TempSpool.WriteAsync(spool, TempSpool.Body(i * 997 % 30_000, seed), piece: 4096));
                        if (Interlocked.Increment(ref count) == 50)
                        {
                            enough.SetResult();
                        }
                    }
                    catch (SpoolUnavailableException)
                    {
                        return;
                    }
                }
            });
        }

        await enough.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await spool.DisposeAsync();
        await Task.WhenAll(writers);

        await using MessageSpool reopened = await temp.OpenAsync();
        var found = new HashSet<SpoolMessageId>();
        await foreach (SpooledMessage message in reopened.ReadMessagesAsync())
        {
            found.Add(message.Id);
        }

        Assert.True(acknowledged.Count >= 50);
        Assert.All(acknowledged, id => Assert.Contains(id, found));
    }
}
