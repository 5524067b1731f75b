namespace FastMta.Spool.Tests;

/// <summary>
/// Golden bytes of the on-disk format (SpoolRecord.cs). If one of these fails, the layout changed: that needs a new
/// format version and a reader for the old one, never an edit of the expected bytes.
/// </summary>
public sealed class RecordFormatTests
{
    internal const string SmallEnvelope =
        "464D01029A00000008070605040302010068E5CF8B010000020000000000000001000000000000000200000002000000080000006140622E746573740600000053495A453D32090000003139322E302E322E3106000000682E7465737401000000750600000045534D545041080000007840792E7465737400000000080000007A40792E746573740C0000004E4F544946593D4E455645524869";

    private const string ChunkedEnvelope =
        "464D0102A200000008070605040302010068E5CF8B0100000210000000000000010000000100000002000000020000004000000000000000080000006140622E746573740600000053495A453D32090000003139322E302E322E3106000000682E7465737401000000750600000045534D545041080000007840792E7465737400000000080000007A40792E746573740C0000004E4F544946593D4E455645524869";

    // SmallEnvelope's message with sender parameters "SMTPUTF8 BODY=8BITMIME" and flags 0x0D (authenticated, SMTPUTF8, 8BITMIME).
    private const string FlaggedEnvelope =
        "464D0102AA00000008070605040302010068E5CF8B01000002000000000000000D000000000000000200000002000000080000006140622E7465737416000000534D54505554463820424F44593D384249544D494D45090000003139322E302E322E3106000000682E7465737401000000750600000045534D545041080000007840792E7465737400000000080000007A40792E746573740C0000004E4F544946593D4E455645524869";

    private const string ChunkHeader = "464D01011810000008070605040302010000000000000000";

    [Fact]
    public void RecordKindValuesAreStable()
    {
        Assert.Equal(1, (byte)RecordKind.BodyChunk);
        Assert.Equal(2, (byte)RecordKind.Envelope);
        Assert.Equal(3, (byte)RecordKind.RecipientState);
        Assert.Equal(4, (byte)RecordKind.CopyForward);
        Assert.Equal(4, Enum.GetValues<RecordKind>().Length);
        Assert.Equal(1, (byte)RecipientStatus.Delivered);
        Assert.Equal(2, (byte)RecipientStatus.Deferred);
        Assert.Equal(3, (byte)RecipientStatus.Failed);
        Assert.Equal(0x4D46, SpoolRecord.Magic);
        Assert.Equal(1, SpoolRecord.FormatVersion);
    }

    [Fact]
    public async Task SmallMessageIsOneEnvelopeWithGoldenBytes()
    {
        using var temp = new TempSpool(chunkSize: 4096);
        await using MessageSpool spool = await temp.OpenAsync();
        using (MessageWriter writer = spool.CreateWriter())
        {
            Fill(writer);
            "Hi"u8.CopyTo(writer.GetSpan(2));
            writer.Advance(2);
            await writer.CommitAsync(CancellationToken.None);
        }

        (long address, byte[] entry) = Assert.Single(spool.ReadRawEntries());
        Assert.Equal(64, address);
        Assert.Equal(SmallEnvelope, Convert.ToHexString(entry));
    }

    [Fact]
    public async Task ChunkedMessageHasGoldenChunkAndEnvelope()
    {
        using var temp = new TempSpool(chunkSize: 4096);
        await using MessageSpool spool = await temp.OpenAsync();
        using (MessageWriter writer = spool.CreateWriter())
        {
            Fill(writer);
            writer.GetSpan(4096)[..4096].Fill(0xAB);
            writer.Advance(4096);
            await writer.FlushAsync(CancellationToken.None);
            "Hi"u8.CopyTo(writer.GetSpan(2));
            writer.Advance(2);
            await writer.CommitAsync(CancellationToken.None);
        }

        List<(long Address, byte[] Entry)> entries = spool.ReadRawEntries();
        Assert.Equal(2, entries.Count);
        Assert.Equal(64, entries[0].Address);
        Assert.Equal(24 + 4096, entries[0].Entry.Length);
        Assert.Equal(ChunkHeader, Convert.ToHexString(entries[0].Entry, 0, 24));
        Assert.All(entries[0].Entry[24..], b => Assert.Equal(0xAB, b));
        Assert.Equal(ChunkedEnvelope, Convert.ToHexString(entries[1].Entry));
    }

    [Fact]
    public async Task TypedFlagsAreBitsTwoAndThreeWithGoldenBytes()
    {
        using var temp = new TempSpool(chunkSize: 4096);
        await using MessageSpool spool = await temp.OpenAsync();
        using (MessageWriter writer = spool.CreateWriter())
        {
            Fill(writer);
            writer.SetSender("a@b.test"u8, "SMTPUTF8 BODY=8BITMIME"u8, EnvelopeFlags.SmtpUtf8 | EnvelopeFlags.EightBitMime);
            "Hi"u8.CopyTo(writer.GetSpan(2));
            writer.Advance(2);
            await writer.CommitAsync(CancellationToken.None);
        }

        (_, byte[] entry) = Assert.Single(spool.ReadRawEntries());
        Assert.Equal(FlaggedEnvelope, Convert.ToHexString(entry));
    }

    [Theory]
    [InlineData(0, 0x00, "bad magic")]
    [InlineData(2, 0x02, "unknown format version")]
    [InlineData(3, 0x00, "unknown record kind")]
    [InlineData(3, 0x07, "unknown record kind")]
    [InlineData(4, 0x99, "does not match entry length")]
    public void HeaderValidationNamesTheProblem(int offset, byte value, string expected)
    {
        byte[] record = Convert.FromHexString(SmallEnvelope);
        record[offset] = value;
        SpoolCorruptException e = Assert.Throws<SpoolCorruptException>(() => SpoolRecord.ReadHeader(record, 4242));
        Assert.Equal(4242, e.LogAddress);
        Assert.Contains(expected, e.Message);
        Assert.Contains("4242", e.Message);
    }

    internal static void Fill(MessageWriter writer)
    {
        writer.SetIdentity(new SpoolMessageId(0x0102030405060708UL), 1_700_000_000_000);
        writer.SetSender("a@b.test"u8, "SIZE=2"u8);
        writer.AddRecipient("x@y.test"u8, default);
        writer.AddRecipient("z@y.test"u8, "NOTIFY=NEVER"u8);
        writer.SetOrigin("192.0.2.1", "h.test", "u", "ESMTPA");
    }
}
