using System.Buffers;
using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class CommandLineFramerTests
{
    private const string Pipelined = "EHLO client.example\r\nMAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";

    private static readonly (LineStatus, string)[] PipelinedLines =
    [
        (LineStatus.Complete, "EHLO client.example"),
        (LineStatus.Complete, "MAIL FROM:<a@b.example> SIZE=10"),
        (LineStatus.Complete, "RCPT TO:<c@d.example>"),
        (LineStatus.Complete, "DATA"),
    ];

    [Fact]
    public void ACompleteLineInOneSegmentIsASliceWithoutCrlf()
    {
        var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("NOOP\r\nQUIT\r\n")));
        Assert.Equal(LineStatus.Complete, framer.TryReadLine(ref reader, new byte[512], out ReadOnlySpan<byte> line));
        Assert.Equal("NOOP", Text(line));
        Assert.Equal(6, reader.Consumed);
    }

    [Fact]
    public void DefaultFramerUsesTheRfcLimit()
    {
        Assert.Equal(512, default(CommandLineFramer).MaxLength);
        Assert.Equal(100, new CommandLineFramer(100).MaxLength);
    }

    [Fact]
    public void PipelinedCommandsSplitAtEveryPositionGiveTheSameLines()
    {
        byte[] data = Bytes(Pipelined);
        for (int split = 0; split <= data.Length; split++)
        {
            // As one two-segment sequence, and as two arrivals.
            var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
            var reader = new SequenceReader<byte>(SplitSequence(data, split));
            var lines = new List<(LineStatus, string)>();
            byte[] scratch = new byte[512];
            while (framer.TryReadLine(ref reader, scratch, out ReadOnlySpan<byte> line) != LineStatus.Incomplete)
            {
                lines.Add((LineStatus.Complete, Text(line)));
            }
            Assert.Equal(PipelinedLines, lines);
            Assert.True(reader.End);
            Assert.Equal(PipelinedLines, FramerDriver.Run(Split(data, split)));
        }
    }

    [Fact]
    public void PipelinedCommandsArrivingOneByteAtATimeGiveTheSameLines()
    {
        byte[] data = Bytes(Pipelined);
        byte[][] chunks = data.Select(b => new[] { b }).ToArray();
        Assert.Equal(PipelinedLines, FramerDriver.Run(chunks));
    }

    [Fact]
    public void EveryPrefixOfACommandIsIncompleteAndConsumesNothing()
    {
        byte[] data = Bytes("MAIL FROM:<a@b.example>\r\n");
        for (int length = 0; length < data.Length; length++)
        {
            byte[] prefix = data[..length];
            for (int split = 0; split <= length; split++)
            {
                var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
                var reader = new SequenceReader<byte>(SplitSequence(prefix, split));
                Assert.Equal(LineStatus.Incomplete, framer.TryReadLine(ref reader, new byte[512], out _));
                Assert.Equal(0, reader.Consumed);
            }
        }
    }

    [Fact]
    public void ALineOfExactlyMaxLengthIncludingCrlfIsComplete()
    {
        string body = new('A', 510);
        Assert.Equal([(LineStatus.Complete, body)], FramerDriver.Run([Bytes(body + "\r\n")]));
    }

    [Fact]
    public void ALineOneOctetOverMaxLengthIsTooLongAndTheNextLineStillParses()
    {
        byte[] data = Bytes(new string('A', 511) + "\r\nNOOP\r\n");
        for (int split = 0; split <= data.Length; split++)
        {
            Assert.Equal([(LineStatus.TooLong, ""), (LineStatus.Complete, "NOOP")], FramerDriver.Run(Split(data, split)));
        }
    }

    [Fact]
    public void AnOverLongLineIsDiscardedAsItArrivesSoPendingBytesStayBounded()
    {
        byte[] data = Bytes(new string('X', 100_000) + "\r\nQUIT\r\n");
        byte[][] chunks = data.Chunk(1000).ToArray();
        var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
        var lines = FramerDriver.Run(ref framer, chunks, out int maxPending);
        Assert.Equal([(LineStatus.TooLong, ""), (LineStatus.Complete, "QUIT")], lines);
        Assert.True(maxPending < framer.MaxLength, $"pending {maxPending}");
    }

    [Fact]
    public void TooLongIsReportedOnceWhenTheLfArrives()
    {
        var framer = new CommandLineFramer(10);
        byte[] scratch = new byte[10];
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("0123456789abc")));
        Assert.Equal(LineStatus.Incomplete, framer.TryReadLine(ref reader, scratch, out _));
        Assert.True(reader.End); // consumed while discarding
        reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("def")));
        Assert.Equal(LineStatus.Incomplete, framer.TryReadLine(ref reader, scratch, out _));
        Assert.True(reader.End);
        reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Bytes("gh\r\nNOOP\r\n")));
        Assert.Equal(LineStatus.TooLong, framer.TryReadLine(ref reader, scratch, out _));
        Assert.Equal(LineStatus.Complete, framer.TryReadLine(ref reader, scratch, out ReadOnlySpan<byte> line));
        Assert.Equal("NOOP", Text(line));
    }

    [Fact]
    public void ABareLineFeedConsumesTheWholeLine()
    {
        byte[] data = Bytes("NOOP\nQUIT\r\n\n");
        for (int split = 0; split <= data.Length; split++)
        {
            Assert.Equal(
                [(LineStatus.BareLineFeed, ""), (LineStatus.Complete, "QUIT"), (LineStatus.BareLineFeed, "")],
                FramerDriver.Run(Split(data, split)));
        }
    }

    [Fact]
    public void ABareLineFeedJustWithinTheLimitIsReportedAsBareLineFeed()
    {
        Assert.Equal([(LineStatus.BareLineFeed, "")], FramerDriver.Run([Bytes(new string('A', 511) + "\n")]));
    }

    [Fact]
    public void ABareCrInsideALineIsLeftForTheParser()
    {
        Assert.Equal([(LineStatus.Complete, "NO\rOP")], FramerDriver.Run([Bytes("NO\rOP\r\n")]));
    }

    [Fact]
    public void AnEmptyLineIsComplete()
    {
        Assert.Equal([(LineStatus.Complete, "")], FramerDriver.Run([Bytes("\r\n")]));
    }

    [Fact]
    public void AMultiSegmentLineIsCopiedIntoScratch()
    {
        var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
        byte[] scratch = new byte[512];
        var reader = new SequenceReader<byte>(Create(Bytes("RS"), [], Bytes("E"), Bytes("T\r"), Bytes("\nX")));
        Assert.Equal(LineStatus.Complete, framer.TryReadLine(ref reader, scratch, out ReadOnlySpan<byte> line));
        Assert.Equal("RSET", Text(line));
        Assert.True(line.Overlaps(scratch));
        Assert.Equal(6, reader.Consumed);
    }
}
