namespace FastMta.Spool.Tests;

/// <summary>
/// A delivery attempt opens the body from what the queue keeps per message (the envelope's address, id and length):
/// only the record's fixed part is read to find the chunks and the inline tail, no envelope string is parsed again,
/// and a record that is not the envelope's message is corruption, not somebody else's body.
/// </summary>
[Collection(nameof(AllocationMeasurement))]
public sealed class BodyLocationTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData((3 * 16 * 1024) + 17)]
    public async Task TheEnvelopeOpensItsBodyLiveAfterACopyForwardAndAfterARestart(int length)
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024);
        byte[] body = TempSpool.Body(length, length);
        SpooledEnvelope? live = null;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            spool.SetCommitListener(new CommitRecorder(e => live = e));
            await TempSpool.WriteAsync(spool, body, recipients: 3, piece: 5000);
            Assert.Equal(body, await ReadAllAsync(spool, live!));
            SpooledEnvelope moved = await spool.CopyForwardAsync(live!, [], CancellationToken.None);
            Assert.Equal(body, await ReadAllAsync(spool, moved));
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        var scanned = new CollectingVisitor();
        reopened.Scan(scanned);
        Assert.Equal(2, scanned.Envelopes.Count); // the original and its copy
        Assert.All(scanned.Envelopes, e => Assert.Equal(live!.Id, e.Id));
        foreach (SpooledEnvelope envelope in scanned.Envelopes)
        {
            Assert.Equal(body, await ReadAllAsync(reopened, envelope));
        }
    }

    [Fact]
    public async Task AnAddressThatHoldsAnotherMessageIsCorruptionNotItsBody()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        var committed = new List<SpooledEnvelope>();
        spool.SetCommitListener(new CommitRecorder(committed.Add));
        await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));
        await TempSpool.WriteAsync(spool, TempSpool.Body(100, 2));
        (SpooledEnvelope first, SpooledEnvelope second) = (committed[0], committed[1]);
        var misplaced = new SpooledEnvelope(second.Id, first.LogAddress, first.LogAddress, second.ReceivedAt, second.BodyLength, second.Sender,
            second.SenderParameters, second.Recipients, second.ClientAddress, second.AuthenticatedUser);

        SpoolCorruptException e = await Assert.ThrowsAsync<SpoolCorruptException>(async () => await spool.OpenBodyAsync(misplaced, CancellationToken.None));
        Assert.Equal(first.LogAddress, e.LogAddress);
        Assert.Contains(first.Id.ToString(), e.Message);
        Assert.Contains(second.Id.ToString(), e.Message);
    }

    [Fact]
    public async Task OpeningABodyCostsTheSameWhateverTheNumberOfRecipients()
    {
        // Before the body's location was read from the fixed part, every attempt parsed the whole envelope again:
        // a string and an object per recipient, each time.
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        var committed = new List<SpooledEnvelope>();
        spool.SetCommitListener(new CommitRecorder(committed.Add));
        await TempSpool.WriteAsync(spool, TempSpool.Body(2000, 1), recipients: 1);
        await TempSpool.WriteAsync(spool, TempSpool.Body(2000, 2), recipients: 100);

        long one = await MeasureOpenAndReadAsync(spool, committed[0]);
        long hundred = await MeasureOpenAndReadAsync(spool, committed[1]);
        Assert.True(hundred <= one + 64, $"one recipient: {one} B, a hundred: {hundred} B allocated per attempt");
    }

    private static async Task<long> MeasureOpenAndReadAsync(MessageSpool spool, SpooledEnvelope envelope)
    {
        // FasterLog completes a read on its own threads, so the process-wide counter is used; the collection runs
        // alone, and the least of several rounds leaves out what a timer allocated meanwhile.
        long allocated = long.MaxValue;
        for (int round = 0; round < 10; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            using (MessageBody body = await spool.OpenBodyAsync(envelope, CancellationToken.None))
            {
                Assert.Equal(envelope.BodyLength, (await body.ReadAsync(CancellationToken.None)).Length);
            }

            allocated = Math.Min(allocated, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        return allocated;
    }

    private static async Task<byte[]> ReadAllAsync(MessageSpool spool, SpooledEnvelope envelope)
    {
        using MessageBody body = await spool.OpenBodyAsync(envelope, CancellationToken.None);
        var all = new List<byte>();
        while (true)
        {
            ReadOnlyMemory<byte> piece = await body.ReadAsync(CancellationToken.None);
            if (piece.IsEmpty)
            {
                return [.. all];
            }

            all.AddRange(piece.ToArray());
        }
    }
}

/// <summary>Tests that count allocated bytes process-wide run alone, not beside other tests' allocations.</summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement;
