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
    }

    [Fact]
    public void ADotFollowedByABareCrIsContent()
    {
        DataResult r = DecodeAtEveryPairOfSplits(".\rx\r\n.\r\r\n.\r\n");
        Assert.Equal(DataStatus.Complete, r.Status);
        Assert.Equal("\rx\r\n\r\r\n", r.Content);
        Assert.False(r.SawBareLineFeed);
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
