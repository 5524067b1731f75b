using System.Text;

namespace FastMta.Spool.Tests;

public sealed class RoundTripTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(256 * 1024 - 1)]
    [InlineData(256 * 1024)]
    [InlineData(256 * 1024 + 1)]
    [InlineData(1024 * 1024)]
    [InlineData(3 * 1024 * 1024 + 12345)]
    public async Task BodyRoundTripsByteIdentical(int length)
    {
        using var temp = new TempSpool();
        byte[] body = TempSpool.Body(length, length);
        SpoolMessageId id;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            id = await TempSpool.WriteAsync(spool, body, piece: 7919);
            List<SpooledMessage> live = await TempSpool.ReadAllAsync(spool);
            Assert.Single(live);
            Assert.True(live[0].Body.Span.SequenceEqual(body));
        }

        await using (MessageSpool reopened = await temp.OpenAsync())
        {
            SpooledMessage message = Assert.Single(await TempSpool.ReadAllAsync(reopened));
            Assert.Equal(id, message.Id);
            Assert.Equal(length, message.Body.Length);
            Assert.True(message.Body.Span.SequenceEqual(body));
            Assert.Equal("sender@example.test", message.Sender);
            Assert.Equal("SIZE=1000 BODY=8BITMIME", message.SenderParameters);
            Assert.Equal("rcpt0@example.test", Assert.Single(message.Recipients).Address);
            Assert.Equal("NOTIFY=NEVER", message.Recipients[0].Parameters);
            Assert.Equal("192.0.2.1", message.ClientAddress);
            Assert.Equal("client.example.test", message.HeloName);
            Assert.Null(message.AuthenticatedUser);
            Assert.Equal("ESMTP", message.Protocol);
            Assert.InRange(message.ReceivedAt, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        }
    }

    [Fact]
    public async Task SmallAndExactlyChunkSizedMessagesAreOneEntry()
    {
        using var temp = new TempSpool(chunkSize: 64 * 1024);
        await using MessageSpool spool = await temp.OpenAsync();
        using (MessageWriter writer = spool.CreateWriter())
        {
            writer.AddRecipient("a@example.test"u8, default);
            byte[] body = TempSpool.Body(64 * 1024, 1);
            body.CopyTo(writer.GetSpan(body.Length));
            writer.Advance(body.Length);
            await writer.CommitAsync(CancellationToken.None);
        }

        await TempSpool.WriteAsync(spool, TempSpool.Body(100, 2));
        Assert.Equal(2, spool.ReadRawEntries().Count);
        await TempSpool.WriteAsync(spool, TempSpool.Body(200 * 1024, 3), piece: 5000);
        Assert.Equal(2 + 4, spool.ReadRawEntries().Count); // three chunks and the envelope
    }

    [Fact]
    public async Task LargeSizeHintSpansChunks()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024);
        byte[] body = TempSpool.Body(100_000, 9);
        await using MessageSpool spool = await temp.OpenAsync();
        using (MessageWriter writer = spool.CreateWriter())
        {
            writer.AddRecipient("a@example.test"u8, default);
            body.AsSpan(0, 10).CopyTo(writer.GetSpan(10));
            writer.Advance(10);
            Span<byte> big = writer.GetSpan(60_000); // more than a chunk: scratch path
            Assert.True(big.Length >= 60_000);
            body.AsSpan(10, 60_000).CopyTo(big);
            writer.Advance(60_000);
            Memory<byte> rest = writer.GetMemory(body.Length - 60_010);
            body.AsSpan(60_010).CopyTo(rest.Span);
            writer.Advance(body.Length - 60_010);
            Assert.Equal(body.Length, writer.BodyLength);
            await writer.FlushAsync(CancellationToken.None);
            await writer.CommitAsync(CancellationToken.None);
        }

        SpooledMessage message = Assert.Single(await TempSpool.ReadAllAsync(spool));
        Assert.True(message.Body.Span.SequenceEqual(body));
    }

    [Fact]
    public async Task NullSenderManyRecipientsAndOrigin()
    {
        using var temp = new TempSpool();
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            using MessageWriter writer = spool.CreateWriter();
            writer.SetSender(default, default);
            for (int i = 0; i < 1000; i++)
            {
                writer.AddRecipient(Encoding.UTF8.GetBytes($"user{i}@dömain{i % 7}.test"), Encoding.UTF8.GetBytes($"ORCPT=rfc822;user{i}@x.test"));
            }

            Assert.Equal(1000, writer.RecipientCount);
            writer.SetOrigin("2001:db8::1", "hélo.example.test", "", "ESMTPSA");
            "Subject: hi\r\n\r\nbody\r\n"u8.CopyTo(writer.GetSpan(64));
            writer.Advance(21);
            await writer.CommitAsync(CancellationToken.None);
        }

        await using (MessageSpool spool = await temp.OpenAsync())
        {
            SpooledMessage message = Assert.Single(await TempSpool.ReadAllAsync(spool));
            Assert.Equal(string.Empty, message.Sender);
            Assert.Equal(string.Empty, message.SenderParameters);
            Assert.Equal(1000, message.Recipients.Count);
            Assert.Equal("user999@dömain5.test", message.Recipients[999].Address);
            Assert.Equal("ORCPT=rfc822;user999@x.test", message.Recipients[999].Parameters);
            Assert.Equal("2001:db8::1", message.ClientAddress);
            Assert.Equal("hélo.example.test", message.HeloName);
            Assert.Equal(string.Empty, message.AuthenticatedUser);
            Assert.Equal("ESMTPSA", message.Protocol);
            Assert.Equal("Subject: hi\r\n\r\nbody\r\n"u8.ToArray(), message.Body.ToArray());
        }
    }

    [Fact]
    public async Task OrphanChunksAreNotReturned()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024);
        byte[] kept = TempSpool.Body(50_000, 5);
        SpoolMessageId keptId;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            using (MessageWriter writer = spool.CreateWriter())
            {
                writer.AddRecipient("a@example.test"u8, default);
                await TempSpool.WriteBodyAsync(writer, TempSpool.Body(40_000, 6), 4096); // two chunks appended
                SpoolMessageId abandoned = writer.Id;
                writer.Reset(); // RSET
                Assert.NotEqual(abandoned, writer.Id);
                Assert.Equal(0, writer.BodyLength);
                Assert.Equal(0, writer.RecipientCount);
                writer.AddRecipient("b@example.test"u8, default);
                await TempSpool.WriteBodyAsync(writer, kept, 3000);
                await writer.CommitAsync(CancellationToken.None);
                keptId = writer.Id;
            }

            using (MessageWriter gone = spool.CreateWriter())
            {
                gone.AddRecipient("c@example.test"u8, default);
                await TempSpool.WriteBodyAsync(gone, TempSpool.Body(40_000, 7), 4096);
            } // client disconnected: disposed without commit

            await TempSpool.WriteAsync(spool, TempSpool.Body(10, 8)); // commits the orphans too
        }

        await using (MessageSpool spool = await temp.OpenAsync())
        {
            List<SpooledMessage> messages = await TempSpool.ReadAllAsync(spool);
            Assert.Equal(2, messages.Count);
            Assert.Equal(keptId, messages[0].Id);
            Assert.Equal("b@example.test", Assert.Single(messages[0].Recipients).Address);
            Assert.True(messages[0].Body.Span.SequenceEqual(kept));
            Assert.True(spool.ReadRawEntries().Count > 2 + 4);
        }
    }

    [Fact]
    public async Task WriterIsReusableAfterCommitAndPooled()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        MessageWriter writer = spool.CreateWriter();
        writer.AddRecipient("a@example.test"u8, default);
        await writer.CommitAsync(CancellationToken.None);
        SpoolMessageId first = writer.Id;
        Assert.Throws<InvalidOperationException>(() => writer.AddRecipient("b@example.test"u8, default));
        writer.Reset();
        Assert.True(writer.Id.Value > first.Value);
        writer.AddRecipient("b@example.test"u8, default);
        await writer.CommitAsync(CancellationToken.None);
        writer.Dispose();
        using MessageWriter again = spool.CreateWriter();
        Assert.Same(writer, again);
        Assert.Equal(0, again.RecipientCount);
        Assert.Equal(2, (await TempSpool.ReadAllAsync(spool)).Count);
    }

    [Fact]
    public async Task CommitWithoutRecipientIsRejected()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        using MessageWriter writer = spool.CreateWriter();
        Assert.Throws<InvalidOperationException>(() => { _ = writer.CommitAsync(CancellationToken.None); });
    }

    [Fact]
    public async Task CommitAfterShutdownIsUnavailable()
    {
        using var temp = new TempSpool();
        MessageSpool spool = await temp.OpenAsync();
        MessageWriter writer = spool.CreateWriter();
        writer.AddRecipient("a@example.test"u8, default);
        await spool.DisposeAsync();
        await Assert.ThrowsAsync<SpoolOutOfServiceException>(async () => await writer.CommitAsync(CancellationToken.None));
    }
}

public sealed class EnvelopeSizeTests
{
    [Fact]
    public async Task EnvelopeThatWouldNotFitMovesItsTailIntoAChunk()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024, pageSizeBits: 16, memorySizeBits: 18, segmentSizeBits: 20);
        byte[] body = TempSpool.Body(16 * 1024 + 15_000, 3);
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            using MessageWriter writer = spool.CreateWriter();
            for (int i = 0; i < 1500; i++)
            {
                writer.AddRecipient(System.Text.Encoding.ASCII.GetBytes($"recipient-{i:D5}@example.test"), default); // ~40 KiB of envelope
            }

            await TempSpool.WriteBodyAsync(writer, body, 5000);
            await writer.CommitAsync(CancellationToken.None);
        }

        await using (MessageSpool spool = await temp.OpenAsync())
        {
            SpooledMessage message = Assert.Single(await TempSpool.ReadAllAsync(spool));
            Assert.Equal(1500, message.Recipients.Count);
            Assert.True(message.Body.Span.SequenceEqual(body));
            Assert.Equal(3, spool.ReadRawEntries().Count); // full chunk, partial tail chunk, envelope
        }
    }

    [Fact]
    public async Task EnvelopeLargerThanAPageIsRejectedLoudly()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024, pageSizeBits: 16, memorySizeBits: 18, segmentSizeBits: 20);
        await using MessageSpool spool = await temp.OpenAsync();
        using MessageWriter writer = spool.CreateWriter();
        for (int i = 0; i < 3000; i++)
        {
            writer.AddRecipient(System.Text.Encoding.ASCII.GetBytes($"recipient-{i:D5}@example.test"), default); // ~80 KiB
        }

        // Its own type (an InvalidOperationException): the HTTP API answers 413 for it without reading the message text.
        SpoolEnvelopeTooLargeException e = await Assert.ThrowsAsync<SpoolEnvelopeTooLargeException>(async () => await writer.CommitAsync(CancellationToken.None));
        Assert.IsAssignableFrom<InvalidOperationException>(e);
        Assert.Contains("page", e.Message);
        Assert.True(e.EnvelopeLength > e.MaxEntryLength);
        Assert.Empty(await TempSpool.ReadAllAsync(spool));
    }
}
