using System.Text;

namespace FastMta.Spool.Tests;

/// <summary>
/// SMTPUTF8 and BODY=8BITMIME as typed envelope flags: set through the writer, stored as bits 2 and 3, the same on the
/// live envelope and after a restart; records from before the bits read their flags from the parameter text.
/// </summary>
public sealed class EnvelopeFlagsTests
{
    [Theory]
    [InlineData(EnvelopeFlags.None)]
    [InlineData(EnvelopeFlags.SmtpUtf8)]
    [InlineData(EnvelopeFlags.EightBitMime)]
    [InlineData(EnvelopeFlags.SmtpUtf8 | EnvelopeFlags.EightBitMime)]
    public async Task TypedFlagsAreKeptLiveAndAfterARestart(EnvelopeFlags flags)
    {
        using var temp = new TempSpool();
        SpooledEnvelope? live = null;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            spool.SetCommitListener(new CommitRecorder(e => live = e));
            // The text says nothing here: what the queue gets must come from the typed flags.
            await WriteAsync(spool, "SIZE=10"u8, flags);
        }

        Assert.Equal(flags, live!.Flags);
        await using MessageSpool reopened = await temp.OpenAsync();
        var scanned = new CollectingVisitor();
        reopened.Scan(scanned);
        Assert.Equal(flags, Assert.Single(scanned.Envelopes).Flags);
        Assert.Equal(flags, Assert.Single(await TempSpool.ReadAllAsync(reopened)).Flags);
    }

    [Theory]
    [InlineData("", EnvelopeFlags.None)]
    [InlineData("SIZE=100", EnvelopeFlags.None)]
    [InlineData("SMTPUTF8", EnvelopeFlags.SmtpUtf8)]
    [InlineData("BODY=8BITMIME", EnvelopeFlags.EightBitMime)]
    [InlineData("SIZE=100 body=8bitmime smtputf8", EnvelopeFlags.SmtpUtf8 | EnvelopeFlags.EightBitMime)]
    [InlineData("BODY=7BIT", EnvelopeFlags.None)]
    [InlineData("XSMTPUTF8 BODY=8BITMIMEX", EnvelopeFlags.None)]
    public async Task ARecordWithoutTheBitsReadsItsFlagsFromTheParameterText(string parameters, EnvelopeFlags expected)
    {
        // Typed None with the flags only in the text: byte for byte the record a writer from before the bits wrote.
        using var temp = new TempSpool();
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            await WriteAsync(spool, Encoding.ASCII.GetBytes(parameters), EnvelopeFlags.None);
            (_, byte[] entry) = Assert.Single(spool.ReadRawEntries());
            Assert.Equal(0u, BitConverter.ToUInt32(entry, 32) & 0b1100); // no flag bits on disk
        }

        await using MessageSpool reopened = await temp.OpenAsync();
        var scanned = new CollectingVisitor();
        reopened.Scan(scanned);
        Assert.Equal(expected, Assert.Single(scanned.Envelopes).Flags);
        Assert.Equal(expected, Assert.Single(await TempSpool.ReadAllAsync(reopened)).Flags);
    }

    [Fact]
    public async Task TheGoldenRecordFromBeforeTheBitsParsesWithNoFlags()
    {
        using var temp = new TempSpool(chunkSize: 4096);
        await using MessageSpool spool = await temp.OpenAsync();
        using (MessageWriter writer = spool.CreateWriter())
        {
            RecordFormatTests.Fill(writer);
            writer.SetSender("a@b.test"u8, "SMTPUTF8 BODY=8BITMIME"u8);
            await writer.CommitAsync(CancellationToken.None);
        }

        EnvelopeFields fields = EnvelopeRecord.Parse(Convert.FromHexString(RecordFormatTests.SmallEnvelope), 64, 64, chunks: null);
        Assert.Equal(EnvelopeFlags.None, fields.Flags);
        Assert.Equal("SIZE=2", fields.SenderParameters);

        // The text-only overload derives the flags (and so sets the bits) the way the queue used to read them.
        (_, byte[] entry) = Assert.Single(spool.ReadRawEntries());
        Assert.Equal(1u | 4u | 8u, BitConverter.ToUInt32(entry, 32));
        Assert.Equal(EnvelopeFlags.SmtpUtf8 | EnvelopeFlags.EightBitMime, EnvelopeRecord.Parse(entry, 64, 64, chunks: null).Flags);
    }

    [Fact]
    public void FlagBitsThatNoVersionWroteAreCorruption()
    {
        byte[] record = Convert.FromHexString(RecordFormatTests.SmallEnvelope);
        record[32] |= 0x10;
        SpoolCorruptException e = Assert.Throws<SpoolCorruptException>(() => EnvelopeRecord.Parse(record, 4242, 64, chunks: null));
        Assert.Contains("unknown envelope flags 0x11", e.Message);
    }

    private static async Task WriteAsync(MessageSpool spool, byte[] parameters, EnvelopeFlags flags)
    {
        using MessageWriter writer = spool.CreateWriter();
        writer.SetSender("s@example.test"u8, parameters, flags);
        writer.AddRecipient("r@example.test"u8, default);
        writer.SetOrigin("192.0.2.1", "client.example.test", null, "ESMTP");
        await TempSpool.WriteBodyAsync(writer, TempSpool.Body(100, 1), piece: 100);
        await writer.CommitAsync(CancellationToken.None);
    }

    private static Task WriteAsync(MessageSpool spool, ReadOnlySpan<byte> parameters, EnvelopeFlags flags) => WriteAsync(spool, parameters.ToArray(), flags);
}

/// <summary>A rebuild visitor that keeps what it is given.</summary>
internal sealed class CollectingVisitor : ISpoolVisitor
{
    public List<SpooledEnvelope> Envelopes { get; } = [];

    public void OnEnvelope(SpooledEnvelope envelope) => Envelopes.Add(envelope);

    public void OnStates(long envelopeAddress, ReadOnlySpan<RecipientState> states)
    {
    }
}
