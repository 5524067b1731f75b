using System.Buffers;

namespace FastMta.Spool.Tests;

/// <summary>The queue manager's side of the spool: commit notification, scan, body reads, states, copy-forward, truncation.</summary>
public sealed class DeliveryStateTests
{
    [Fact]
    public async Task CommittedMessagesAreAnnouncedWithTheirEnvelope()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        var seen = new List<SpooledEnvelope>();
        spool.SetCommitListener(new CommitRecorder(seen.Add));
        SpoolMessageId id = await TempSpool.WriteAsync(spool, TempSpool.Body(1000, 1), recipients: 3);

        SpooledEnvelope envelope = Assert.Single(seen);
        Assert.Equal(id, envelope.Id);
        Assert.Equal("sender@example.test", envelope.Sender);
        Assert.Equal("SIZE=1000 BODY=8BITMIME", envelope.SenderParameters);
        Assert.Equal(["rcpt0@example.test", "rcpt1@example.test", "rcpt2@example.test"], envelope.Recipients.Select(r => r.Address));
        Assert.Equal(1000, envelope.BodyLength);
        Assert.Equal(envelope.LogAddress, envelope.FirstAddress); // small message: one record
        Assert.Null(envelope.ReplacesAddress);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData((3 * 64 * 1024) + 17)]
    public async Task BodyIsReadBackAsChainedLogBuffers(int length)
    {
        using var temp = new TempSpool(chunkSize: 64 * 1024);
        await using MessageSpool spool = await temp.OpenAsync();
        SpooledEnvelope? envelope = null;
        spool.SetCommitListener(new CommitRecorder(e => envelope = e));
        byte[] body = TempSpool.Body(length, length);
        await TempSpool.WriteAsync(spool, body, piece: 5000);

        ReadOnlySequence<byte> read = await spool.ReadBodyAsync(envelope!.LogAddress, CancellationToken.None);
        Assert.Equal(body, read.ToArray());
        Assert.Equal(length > 64 * 1024, !read.IsSingleSegment);
        Assert.True(envelope.FirstAddress < envelope.LogAddress || length <= 64 * 1024);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    [InlineData(64 * 1024)]
    [InlineData((3 * 64 * 1024) + 17)]
    public async Task OpenedBodyIsReadOneLogEntryAtATimeAndRewinds(int length)
    {
        using var temp = new TempSpool(chunkSize: 64 * 1024);
        await using MessageSpool spool = await temp.OpenAsync();
        SpooledEnvelope? envelope = null;
        spool.SetCommitListener(new CommitRecorder(e => envelope = e));
        byte[] body = TempSpool.Body(length, length);
        await TempSpool.WriteAsync(spool, body, piece: 5000);

        using MessageBody opened = await spool.OpenBodyAsync(envelope!.LogAddress, CancellationToken.None);
        Assert.Equal(length, opened.Length);
        for (int pass = 0; pass < 2; pass++)
        {
            var read = new List<byte>();
            int pieces = 0;
            while (true)
            {
                ReadOnlyMemory<byte> piece = await opened.ReadAsync(CancellationToken.None);
                if (piece.IsEmpty)
                {
                    break;
                }

                Assert.InRange(piece.Length, 1, 64 * 1024); // never more than one chunk's worth at a time
                read.AddRange(piece.ToArray());
                pieces++;
            }

            Assert.Equal(body, read.ToArray());
            Assert.Equal((length + (64 * 1024) - 1) / (64 * 1024), pieces);
            Assert.True((await opened.ReadAsync(CancellationToken.None)).IsEmpty); // stays at the end
            opened.Rewind();
        }

        Assert.Equal(body.AsSpan(0, Math.Min(length, 100)).ToArray(), await opened.ReadPrefixAsync(100, CancellationToken.None));
    }

    [Fact]
    public async Task OpenedBodyOfACopiedForwardMessageIsReadFromItsNewPlace()
    {
        using var temp = new TempSpool(chunkSize: 64 * 1024);
        await using MessageSpool spool = await temp.OpenAsync();
        SpooledEnvelope? envelope = null;
        spool.SetCommitListener(new CommitRecorder(e => envelope = e));
        byte[] body = TempSpool.Body((2 * 64 * 1024) + 99, 4);
        await TempSpool.WriteAsync(spool, body);
        SpooledEnvelope moved = await spool.CopyForwardAsync(envelope!, [], CancellationToken.None);
        spool.Truncate(() => moved.FirstAddress);

        using MessageBody opened = await spool.OpenBodyAsync(moved.LogAddress, CancellationToken.None);
        byte[] read = await opened.ReadPrefixAsync(int.MaxValue, CancellationToken.None);
        Assert.Equal(body, read);
    }

    [Fact]
    public async Task RecipientStatesSurviveReopenInLogOrder()
    {
        using var temp = new TempSpool();
        long address;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            SpooledEnvelope? envelope = null;
            spool.SetCommitListener(new CommitRecorder(e => envelope = e));
            await TempSpool.WriteAsync(spool, TempSpool.Body(100, 2), recipients: 3);
            address = envelope!.LogAddress;
            await spool.AppendStatesAsync(address, [new RecipientState(0, RecipientStatus.Deferred, 1, 1234567)], CancellationToken.None);
            await spool.AppendStatesAsync(address, [new RecipientState(0, RecipientStatus.Delivered, 2, 0), new RecipientState(2, RecipientStatus.Failed, 1, 0)], CancellationToken.None);
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        var visitor = new RecordingVisitor();
        reopened.Scan(visitor);
        SpooledEnvelope scanned = Assert.Single(visitor.Envelopes);
        Assert.Equal(address, scanned.LogAddress);
        Assert.Equal(3, scanned.Recipients.Count);
        Assert.Equal(
            [(address, new RecipientState(0, RecipientStatus.Deferred, 1, 1234567)),
             (address, new RecipientState(0, RecipientStatus.Delivered, 2, 0)),
             (address, new RecipientState(2, RecipientStatus.Failed, 1, 0))],
            visitor.States);

        // The old reader still reads the message and skips state records.
        Assert.Single(await TempSpool.ReadAllAsync(reopened));
    }

    [Fact]
    public async Task CopyForwardMovesTheMessageAndCarriesItsStates()
    {
        using var temp = new TempSpool(chunkSize: 64 * 1024);
        byte[] body = TempSpool.Body((2 * 64 * 1024) + 99, 3);
        SpooledEnvelope moved;
        SpooledEnvelope original;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            SpooledEnvelope? envelope = null;
            spool.SetCommitListener(new CommitRecorder(e => envelope = e));
            await TempSpool.WriteAsync(spool, body, recipients: 2);
            original = envelope!;
            moved = await spool.CopyForwardAsync(original, [new RecipientState(1, RecipientStatus.Deferred, 4, 999)], CancellationToken.None);
            Assert.True(moved.FirstAddress > original.LogAddress);
            Assert.Equal(original.LogAddress, moved.ReplacesAddress);
            Assert.Equal(original.Id, moved.Id);
            Assert.Equal(body, (await spool.ReadBodyAsync(moved.LogAddress, CancellationToken.None)).ToArray());

            // Everything before the copy can go; the message stays readable.
            Assert.Equal(moved.FirstAddress, spool.Truncate(() => moved.FirstAddress));
            await WaitForBeginAsync(spool, moved.FirstAddress);
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        Assert.Equal(moved.FirstAddress, reopened.BeginAddress);
        var visitor = new RecordingVisitor();
        reopened.Scan(visitor);
        SpooledEnvelope scanned = Assert.Single(visitor.Envelopes);
        Assert.Equal(moved.LogAddress, scanned.LogAddress);
        Assert.Equal(original.LogAddress, scanned.ReplacesAddress);
        Assert.Equal([new RecipientState(1, RecipientStatus.Deferred, 4, 999)], scanned.CarriedStates);
        Assert.Equal(body, (await reopened.ReadBodyAsync(scanned.LogAddress, CancellationToken.None)).ToArray());
    }

    [Fact]
    public async Task ThePoolAMessageAskedForIsKeptInItsEnvelopeAndCarriedForward()
    {
        using var temp = new TempSpool();
        SpooledEnvelope? committed = null;
        SpooledEnvelope moved;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            spool.SetCommitListener(new CommitRecorder(e => committed = e));
            using (MessageWriter writer = spool.CreateWriter())
            {
                writer.SetSender("s@example.test"u8, default);
                writer.AddRecipient("r@example.test"u8, default);
                writer.SetPool("bulk-ü");
                writer.Write("Subject: x\r\n\r\nbody\r\n"u8);
                await writer.CommitAsync(CancellationToken.None);

                // The next message on the same writer asks for none.
                writer.Reset();
                writer.SetSender("s@example.test"u8, default);
                writer.AddRecipient("r@example.test"u8, default);
                writer.Write("Subject: y\r\n\r\nbody\r\n"u8);
                await writer.CommitAsync(CancellationToken.None);
            }

            Assert.Null(committed!.Pool);
            var scan = new RecordingVisitor();
            spool.Scan(scan);
            Assert.Equal(["bulk-ü", null], scan.Envelopes.Select(e => e.Pool));
            moved = await spool.CopyForwardAsync(scan.Envelopes[0], [], CancellationToken.None);
            Assert.Equal("bulk-ü", moved.Pool);
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        var visitor = new RecordingVisitor();
        reopened.Scan(visitor);
        SpooledEnvelope forwarded = Assert.Single(visitor.Envelopes, e => e.LogAddress == moved.LogAddress);
        Assert.Equal("bulk-ü", forwarded.Pool);
    }

    [Fact]
    public async Task TruncationDeletesOldSegmentsAndNeverPassesAMessageBeingWritten()
    {
        // 1 MiB segments, 64 KiB pages: a few MiB of messages span several segment files.
        using var temp = new TempSpool(chunkSize: 32 * 1024, pageSizeBits: 16, memorySizeBits: 20, segmentSizeBits: 20);
        await using MessageSpool spool = await temp.OpenAsync();
        for (int i = 0; i < 40; i++)
        {
            await TempSpool.WriteAsync(spool, TempSpool.Body(100 * 1024, i));
        }

        int segmentsBefore = Directory.GetFiles(temp.Path, "hlog.log.*").Length;
        Assert.True(segmentsBefore >= 3, $"expected several segments, found {segmentsBefore}");

        // A writer that has appended a chunk but not committed pins the log at its first entry.
        using MessageWriter open = spool.CreateWriter();
        open.AddRecipient("late@example.test"u8, default);
        await TempSpool.WriteBodyAsync(open, TempSpool.Body(100 * 1024, 99), 8192);
        long pinnedAt = spool.TailAddress;
        long begin = spool.Truncate(() => long.MaxValue);
        Assert.True(begin < pinnedAt);
        await open.CommitAsync(CancellationToken.None);

        // Now nothing is pinned: everything up to the tail can go, and FASTER removes the old segment files.
        long tail = spool.TailAddress;
        Assert.Equal(tail, spool.Truncate(() => tail));
        await WaitForBeginAsync(spool, tail);
        int segmentsAfter = 0;
        for (int attempt = 0; attempt < 50; attempt++)
        {
            segmentsAfter = Directory.GetFiles(temp.Path, "hlog.log.*").Length;
            if (segmentsAfter < segmentsBefore)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.True(segmentsAfter < segmentsBefore, $"segments before {segmentsBefore}, after {segmentsAfter}");
    }

    /// <summary>Truncation is recorded by the committer's next commit, asynchronously.</summary>
    private static async Task WaitForBeginAsync(MessageSpool spool, long address)
    {
        for (int attempt = 0; attempt < 100 && spool.BeginAddress < address; attempt++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(address, spool.BeginAddress);
    }

    private sealed class RecordingVisitor : ISpoolVisitor
    {
        public List<SpooledEnvelope> Envelopes { get; } = [];

        public List<(long Address, RecipientState State)> States { get; } = [];

        public void OnEnvelope(SpooledEnvelope envelope) => Envelopes.Add(envelope);

        public void OnStates(long envelopeAddress, ReadOnlySpan<RecipientState> states)
        {
            foreach (RecipientState state in states)
            {
                States.Add((envelopeAddress, state));
            }
        }
    }
}
