using System.Buffers;
using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class DataDecoderTests
{
    private static DataResult Decode(string input, long max = long.MaxValue) => DataDriver.Segments([Bytes(input)], max);

    // Every split into up to three pieces, both as separate arrivals and as one multi-segment buffer, must agree.
    private static DataResult DecodeAtEveryPairOfSplits(string input, long max = long.MaxValue)
    {
        byte[] data = Bytes(input);
        DataResult expected = DataDriver.Segments([data], max);
        for (int i = 0; i <= data.Length; i++)
        {
            for (int j = i; j <= data.Length; j++)
            {
                byte[][] parts = Split(data, i, j);
                Assert.Equal(expected, DataDriver.Segments(parts, max));
                Assert.Equal(expected, DataDriver.Arrivals(parts, max));
            }
        }
        return expected;
    }

    [Fact]
    public void AnOrdinaryMessageEndsAtCrlfDotCrlfAndKeepsTheLastCrlf()
    {
        DataResult r = DecodeAtEveryPairOfSplits("Subject: x\r\n\r\nHello\r\n.\r\nQUIT\r\n");
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal("Subject: x\r\n\r\nHello\r\n", r.Content);
        Assert.Equal(r.Content.Length, r.BodyBytes);
        Assert.Equal("QUIT\r\n", r.Rest);
        Assert.False(r.TooLarge);
        Assert.False(r.SawBareLineFeed);
        Assert.False(r.SawBareCarriageReturn); // at every split, also a CR ending one segment and its LF in the next
    }

    [Fact]
    public void ADotAsTheVeryFirstLineIsAnEmptyMessage()
    {
        DataResult r = DecodeAtEveryPairOfSplits(".\r\nMAIL FROM:<>\r\n");
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal("", r.Content);
        Assert.Equal(0, r.BodyBytes);
        Assert.Equal("MAIL FROM:<>\r\n", r.Rest);
    }

    [Fact]
    public void LeadingDotsAreUnstuffed()
    {
        DataResult r = DecodeAtEveryPairOfSplits("..\r\n..x\r\n...\r\na.b\r\n.y\r\n.\r\n");
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal(".\r\n.x\r\n..\r\na.b\r\ny\r\n", r.Content);
        Assert.Equal(r.Content.Length, r.BodyBytes);
        Assert.False(r.SawBareLineFeed);
        Assert.False(r.SawBareCarriageReturn);
    }

    [Fact]
    public void ADotFollowedByABareCrIsContentAndFlagged()
    {
        DataResult r = DecodeAtEveryPairOfSplits(".\rx\r\n.\r\r\n.\r\n");
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal("\rx\r\n\r\r\n", r.Content);
        Assert.False(r.SawBareLineFeed);
        Assert.True(r.SawBareCarriageReturn);
    }

    // CR-based smuggling: none of these ends the message or a line, and each is flagged, so the session refuses it
    // (a receiver that ends lines at a bare CR would otherwise run the smuggled commands).
    [Theory]
    [InlineData("a\r.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\n.\r\n", "a\r.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nDATA\r\n")]
    [InlineData("a\r\n\r.\r\nRCPT TO:<z@w>\r\n.\r\n", "a\r\n\r.\r\nRCPT TO:<z@w>\r\n")]
    [InlineData("a\r\n.\r.\r\nMAIL\r\n.\r\n", "a\r\n\r.\r\nMAIL\r\n")]
    [InlineData("a\r\r\nb\r\n.\r\n", "a\r\r\nb\r\n")]
    [InlineData("mid\rline\r\n.\r\n", "mid\rline\r\n")]
    [InlineData("\r\r\n.\r\n", "\r\r\n")]
    [InlineData("a\r\n\r\r\n.\r\n", "a\r\n\r\r\n")]
    [InlineData("a\r\r\r\n..\r\n.\r\n", "a\r\r\r\n.\r\n")]
    public void BareCarriageReturnNeverEndsALineOrTheMessageAndIsFlagged(string input, string content)
    {
        DataResult r = DecodeAtEveryPairOfSplits(input);
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal(content, r.Content);
        Assert.True(r.SawBareCarriageReturn);
        Assert.False(r.SawBareLineFeed);
        Assert.Equal("", r.Rest);
    }

    [Theory]
    [InlineData("a\r.\nDATA\r\n.\r\n", "a\r.\nDATA\r\n")]
    [InlineData("a\n\r.\r\nx\r\n.\r\n", "a\n\r.\r\nx\r\n")]
    [InlineData("a\n\rb\r\n.\r\n", "a\n\rb\r\n")]
    public void BareCarriageReturnAndBareLineFeedAreBothFlagged(string input, string content)
    {
        DataResult r = DecodeAtEveryPairOfSplits(input);
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal(content, r.Content);
        Assert.True(r.SawBareCarriageReturn);
        Assert.True(r.SawBareLineFeed);
    }

    [Theory]
    [InlineData("a\r")]
    [InlineData("a\r\n.\r")]
    [InlineData("a\r\r")]
    [InlineData("a\r.\r")]
    public void ACarriageReturnAtTheEndOfTheInputIsNotYetBare(string input)
    {
        DataResult r = DecodeAtEveryPairOfSplits(input);
        Assert.Equal(DataStatus.NeedMoreData, r.Status);
        Assert.Equal(input.Contains("\r\r") || input.Contains("\r."), r.SawBareCarriageReturn);
    }

    [Fact]
    public void ACrlfSplitAcrossArrivalsIsACrlf()
    {
        byte[][] parts = [Bytes("Subject: x\r"), Bytes("\n\r"), Bytes("\n.."), Bytes("dot\r"), Bytes("\n.\r"), Bytes("\n")];
        foreach (DataResult r in (DataResult[])[DataDriver.Arrivals(parts), DataDriver.Segments(parts)])
        {
            Assert.Equal(DataStatus.Complete, r.Status);
            Assert.Equal("Subject: x\r\n\r\n.dot\r\n", r.Content);
            Assert.False(r.SawBareCarriageReturn);
            Assert.False(r.SawBareLineFeed);
        }
    }

    // Against a plain reference (the terminator is the first CRLF "." CRLF or a leading ".\r\n"; a line's first dot
    // is removed; a CR without LF after it and an LF without CR before it are bare), for random wire bytes in random
    // arrivals.
    [Fact]
    public void RandomWireBytesDecodeAsTheReferenceSays()
    {
        var random = new Random(5322);
        byte[] alphabet = Bytes("\r\n\r\n..ab");
        for (int round = 0; round < 3000; round++)
        {
            byte[] wire = new byte[random.Next(1, 40)];
            for (int i = 0; i < wire.Length; i++)
            {
                wire[i] = alphabet[random.Next(alphabet.Length)];
            }
            byte[] input = [.. wire, .. "\r\n.\r\nNEXT"u8];
            (string content, bool bareCr, bool bareLf, string rest) = Reference(input);
            var parts = new List<byte[]>();
            for (int offset = 0; offset < input.Length;)
            {
                int take = random.Next(1, Math.Min(6, input.Length - offset) + 1);
                parts.Add(input[offset..(offset + take)]);
                offset += take;
            }
            foreach (DataResult r in (DataResult[])[DataDriver.Arrivals([.. parts]), DataDriver.Segments([.. parts])])
            {
                Assert.Equal(DataStatus.Complete, r.Status);
                Assert.Equal(content, r.Content);
                Assert.Equal(bareCr, r.SawBareCarriageReturn);
                Assert.Equal(bareLf, r.SawBareLineFeed);
                Assert.Equal(rest, r.Rest);
            }
        }
    }

    private static (string Content, bool BareCr, bool BareLf, string After) Reference(byte[] input)
    {
        string text = Text(input);
        int end = text.StartsWith(".\r\n", StringComparison.Ordinal) ? 0 : text.IndexOf("\r\n.\r\n", StringComparison.Ordinal) + 2;
        string region = text[..end];
        string rest = text[(end + 3)..];
        var content = new System.Text.StringBuilder();
        bool bareCr = false, bareLf = false;
        for (int i = 0; i < region.Length; i++)
        {
            bool lineStart = i == 0 || (i >= 2 && region[i - 2] == '\r' && region[i - 1] == '\n');
            if (lineStart && region[i] == '.')
            {
                continue;
            }
            bareCr |= region[i] == '\r' && (i + 1 == region.Length || region[i + 1] != '\n');
            bareLf |= region[i] == '\n' && (i == 0 || region[i - 1] != '\r');
            content.Append(region[i]);
        }
        return (content.ToString(), bareCr, bareLf, rest);
    }

    [Theory]
    [InlineData("a\n.\nb\r\n.\r\n", "a\n.\nb\r\n")]
    [InlineData("a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n", "a\r\n\nMAIL FROM:<x@y>\r\n")]
    [InlineData("a\n.\r\nRCPT\r\n.\r\n", "a\n.\r\nRCPT\r\n")]
    [InlineData(".\nx\r\n.\r\n", "\nx\r\n")]
    public void BareLineFeedNeverEndsALineOrTheMessage(string input, string content)
    {
        DataResult r = DecodeAtEveryPairOfSplits(input);
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal(content, r.Content);
        Assert.True(r.SawBareLineFeed);
        Assert.Equal("", r.Rest);
    }

    [Theory]
    [InlineData("a\n.\n")]
    [InlineData("a\r\n.\n")]
    [InlineData("a\r\n.\r")]
    [InlineData("a\r\n.")]
    [InlineData("a\r.\r\n")]
    [InlineData("a\r\n..\r\n")]
    public void NearMissTerminatorsNeedMoreData(string input)
    {
        Assert.Equal(DataStatus.NeedMoreData, DecodeAtEveryPairOfSplits(input).Status);
    }

    [Fact]
    public void ContentPastTheLimitIsNotWrittenButTheTerminatorIsStillFound()
    {
        string body = "0123456789\r\n.. dotted\r\n" + new string('x', 100) + "\r\n";
        DataResult r = DecodeAtEveryPairOfSplits(body + ".\r\nRSET\r\n", max: 20);
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.True(r.TooLarge);
        string unstuffed = body.Replace("\n..", "\n.");
        Assert.Equal(unstuffed.Length, r.BodyBytes);
        Assert.Equal(unstuffed[..20], r.Content);
        Assert.Equal("RSET\r\n", r.Rest);
    }

    [Fact]
    public void ContentExactlyAtTheLimitIsNotTooLarge()
    {
        DataResult r = Decode("abc\r\n.\r\n", max: 5);
        Assert.False(r.TooLarge);
        Assert.Equal("abc\r\n", r.Content);
        Assert.True(Decode("abcd\r\n.\r\n", max: 5).TooLarge);
    }

    [Fact]
    public void ResetMakesTheDecoderReusable()
    {
        var decoder = new DataDecoder(3);
        var output = new ArrayBufferWriter<byte>();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("toolong\n\r\n.\r\n")));
        Assert.Equal(DataStatus.Complete, decoder.Decode(ref reader, output));
        Assert.True(decoder.TooLarge);
        Assert.True(decoder.SawBareLineFeed);

        decoder.Reset(100);
        output.ResetWrittenCount();
        reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("ok\r\n.\r\n")));
        Assert.Equal(DataStatus.Complete, decoder.Decode(ref reader, output));
        Assert.False(decoder.TooLarge);
        Assert.False(decoder.SawBareLineFeed);
        Assert.Equal(4, decoder.BodyBytes);
        Assert.Equal("ok\r\n", Text(output.WrittenSpan));
    }

    [Fact]
    public void ALargeBodyArrivingInSmallChunksIsCopiedExactly()
    {
        var random = new Random(5321);
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < 2000; i++)
        {
            text.Append(random.Next(10) == 0 ? "." : "").Append(new string((char)('a' + random.Next(26)), random.Next(80))).Append("\r\n");
        }
        string body = text.ToString();
        string stuffed = body.Replace("\r\n.", "\r\n..");
        stuffed = stuffed.StartsWith('.') ? "." + stuffed : stuffed;
        byte[] data = Bytes(stuffed + ".\r\n");
        DataResult r = DataDriver.Arrivals(data.Chunk(37).ToArray());
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal(body, r.Content);
    }
}
