using System.Buffers;
using System.Text;

namespace FastMta.Smtp.Tests;

public sealed class ReplyParserTests
{
    private const string MultiLine = "250-mx.example.com Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 CHUNKING\r\n";

    private static ReplyStatus Parse(ReadOnlySequence<byte> input, out SequencePosition consumed, out SmtpReply? reply) =>
        ReplyParser.TryParse(input, out consumed, out reply);

    [Fact]
    public void SingleLineReplyHasCodeEnhancedStatusAndText()
    {
        var input = new ReadOnlySequence<byte>(TestSequence.Bytes("550 5.1.1 <a@b>: Recipient address rejected\r\n"));
        Assert.Equal(ReplyStatus.Complete, Parse(input, out SequencePosition consumed, out SmtpReply? reply));
        Assert.Equal(input.End, consumed);
        Assert.Equal(550, reply!.Code);
        Assert.Equal("5.1.1", reply.EnhancedStatus);
        Assert.Equal(["5.1.1 <a@b>: Recipient address rejected"], reply.Lines);
        Assert.True(reply.IsPermanent);
    }

    [Fact]
    public void MultiLineReplyIsSplitAtEverySegmentBoundaryPair()
    {
        byte[] data = TestSequence.Bytes(MultiLine + "220 next");
        int replyLength = MultiLine.Length;
        for (int i = 0; i <= data.Length; i++)
        {
            for (int j = i; j <= data.Length; j++)
            {
                ReadOnlySequence<byte> input = TestSequence.SplitSequence(data, i, j);
                Assert.Equal(ReplyStatus.Complete, Parse(input, out SequencePosition consumed, out SmtpReply? reply));
                Assert.Equal(replyLength, input.Slice(0, consumed).Length);
                Assert.Equal(250, reply!.Code);
                Assert.Equal(["mx.example.com Hello", "PIPELINING", "SIZE 1000", "CHUNKING"], reply.Lines);
            }
        }
    }

    [Fact]
    public void EveryPrefixOfAReplyIsIncompleteAndConsumesNothing()
    {
        byte[] data = TestSequence.Bytes(MultiLine);
        for (int length = 0; length < data.Length; length++)
        {
            ReadOnlySequence<byte> input = TestSequence.SplitSequence(data[..length], length / 2);
            Assert.Equal(ReplyStatus.Incomplete, Parse(input, out SequencePosition consumed, out SmtpReply? reply));
            Assert.Equal(input.Start, consumed);
            Assert.Null(reply);
        }
    }

    [Fact]
    public void PipelinedRepliesAreReadOneAtATime()
    {
        var input = new ReadOnlySequence<byte>(TestSequence.Bytes("250 2.1.0 Ok\r\n451 4.3.0 later\r\n354 go\r\n"));
        var codes = new List<int>();
        while (Parse(input, out SequencePosition consumed, out SmtpReply? reply) == ReplyStatus.Complete)
        {
            codes.Add(reply!.Code);
            input = input.Slice(consumed);
        }
        Assert.Equal([250, 451, 354], codes);
        Assert.True(input.IsEmpty);
    }

    [Theory]
    [InlineData("2x0 Ok\r\n", ReplyStatus.Malformed)]
    [InlineData("650 Ok\r\n", ReplyStatus.Malformed)]
    [InlineData("25 Ok\r\n", ReplyStatus.Malformed)]
    [InlineData("250_Ok\r\n", ReplyStatus.Malformed)]
    [InlineData("\r\n", ReplyStatus.Malformed)]
    [InlineData("250 Ok\n", ReplyStatus.BareLineFeed)]
    [InlineData("250-a\r\n251 b\r\n", ReplyStatus.InconsistentCode)]
    [InlineData("250-a\r\n250_b\r\n", ReplyStatus.Malformed)]
    public void MalformedRepliesAreRejected(string text, ReplyStatus expected)
    {
        byte[] data = TestSequence.Bytes(text);
        for (int split = 0; split <= data.Length; split++)
        {
            Assert.Equal(expected, Parse(TestSequence.SplitSequence(data, split), out _, out SmtpReply? reply));
            Assert.Null(reply);
        }
    }

    [Fact]
    public void ALineOverTheBoundIsRejectedEvenBeforeItsEnd()
    {
        byte[] data = TestSequence.Bytes("250 " + new string('x', ReplyParser.MaxLineLength));
        Assert.Equal(ReplyStatus.LineTooLong, Parse(TestSequence.SplitSequence(data, 100, 1500), out _, out _));
    }

    [Fact]
    public void ALineAtTheBoundIsAccepted()
    {
        string line = "250 " + new string('x', ReplyParser.MaxLineLength - 6) + "\r\n";
        Assert.Equal(ReplyParser.MaxLineLength, line.Length);
        Assert.Equal(ReplyStatus.Complete, Parse(TestSequence.SplitSequence(TestSequence.Bytes(line), 1000), out _, out _));
    }

    [Fact]
    public void TooManyContinuationLinesAreRejected()
    {
        var text = new StringBuilder();
        for (int i = 0; i <= ReplyParser.MaxLines; i++)
        {
            text.Append("250-x\r\n");
        }
        Assert.Equal(ReplyStatus.TooManyLines, Parse(new ReadOnlySequence<byte>(TestSequence.Bytes(text.ToString())), out _, out _));
    }

    [Theory]
    [InlineData("250\r\n", 250, "", "")]
    [InlineData("250 2.0.0\r\n", 250, "2.0.0", "2.0.0")]
    [InlineData("451 4.7.1 Greylisted\r\n", 451, "4.7.1", "4.7.1 Greylisted")]
    [InlineData("550 4.1.1 class mismatch\r\n", 550, "", "4.1.1 class mismatch")]
    [InlineData("550 5.1 short\r\n", 550, "", "5.1 short")]
    [InlineData("550 5.1.1234 long detail\r\n", 550, "", "5.1.1234 long detail")]
    [InlineData("550 5.1.1x\r\n", 550, "", "5.1.1x")]
    [InlineData("552 5.3.4 too big\r\n", 552, "5.3.4", "5.3.4 too big")]
    public void EnhancedStatusIsRecognisedOnlyWhenWellFormed(string text, int code, string enhanced, string line)
    {
        Assert.Equal(ReplyStatus.Complete, Parse(new ReadOnlySequence<byte>(TestSequence.Bytes(text)), out _, out SmtpReply? reply));
        Assert.Equal(code, reply!.Code);
        Assert.Equal(enhanced, reply.EnhancedStatus);
        Assert.Equal(line, reply.Text);
    }

    [Fact]
    public void TextJoinsLinesAndDefaultEnhancedStatusFollowsTheClass()
    {
        var input = new ReadOnlySequence<byte>(TestSequence.Bytes("451-first\r\n451 second\r\n"));
        Parse(input, out _, out SmtpReply? reply);
        Assert.Equal("first second", reply!.Text);
        Assert.Equal("4.0.0", reply.EnhancedStatusOrDefault);
        Assert.True(reply.IsTransient);
    }

    [Fact]
    public void Utf8TextIsDecoded()
    {
        var input = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("250 2.0.0 Ok für dich\r\n"));
        byte[] data = input.ToArray();
        for (int split = 0; split <= data.Length; split++)
        {
            Parse(TestSequence.SplitSequence(data, split), out _, out SmtpReply? reply);
            Assert.Equal("2.0.0 Ok für dich", reply!.Text);
        }
    }
}
