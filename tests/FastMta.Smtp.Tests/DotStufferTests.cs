using System.Buffers;
using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class DotStufferTests
{
    private static string Stuff(params string[] writes)
    {
        var stuffer = new DotStuffer();
        var output = new ArrayBufferWriter<byte>();
        foreach (string w in writes)
        {
            stuffer.Write(Bytes(w), output);
        }
        stuffer.Complete(output);
        return Text(output.WrittenSpan);
    }

    [Theory]
    [InlineData("", ".\r\n")]
    [InlineData("a\r\n", "a\r\n.\r\n")]
    [InlineData("a", "a\r\n.\r\n")]
    [InlineData(".\r\n", "..\r\n.\r\n")]
    [InlineData("x\r\n.y\r\n..\r\n", "x\r\n..y\r\n...\r\n.\r\n")]
    [InlineData("a.b\r\n", "a.b\r\n.\r\n")]
    public void DotsAtLineStartsAreDoubledAndTheTerminatorIsAppended(string content, string expected)
    {
        Assert.Equal(expected, Stuff(content));
    }

    [Fact]
    public void LineStartsAreTrackedAcrossWrites()
    {
        Assert.Equal("a\r\n..b\r\n.\r\n", Stuff("a\r", "\n", ".b\r\n"));
        Assert.Equal("a\r\n.\r\n", Stuff("a\r", "\n"));
        Assert.Equal("a\r\n..\r\n.\r\n", Stuff("a\r\n", ".", "\r\n"));
    }

    [Fact]
    public void CompleteMakesTheStufferReadyForTheNextMessage()
    {
        var stuffer = new DotStuffer();
        var output = new ArrayBufferWriter<byte>();
        stuffer.Write(Bytes("abc"), output);
        stuffer.Complete(output);
        output.ResetWrittenCount();
        stuffer.Write(Bytes(".x\r\n"), output);
        stuffer.Complete(output);
        Assert.Equal("..x\r\n.\r\n", Text(output.WrittenSpan));
    }

    [Fact]
    public void RandomContentRoundTripsThroughTheDecoder()
    {
        var random = new Random(2821);
        byte[] alphabet = Bytes(".\r\n.ab \r\t.");
        for (int round = 0; round < 500; round++)
        {
            // CRLF-correct content: every CR and LF is part of a CRLF (all the server accepts into the spool).
            var content = new List<byte>();
            int length = random.Next(200);
            while (content.Count < length)
            {
                byte b = alphabet[random.Next(alphabet.Length)];
                if (b == (byte)'\r')
                {
                    continue;
                }
                if (b == (byte)'\n')
                {
                    content.Add((byte)'\r');
                }
                content.Add(b);
            }
            if (content.Count > 0 && content[^1] != (byte)'\n')
            {
                content.AddRange("\r\n"u8.ToArray());
            }
            byte[] original = content.ToArray();

            var stuffer = new DotStuffer();
            var wire = new ArrayBufferWriter<byte>();
            int offset = 0;
            while (offset < original.Length)
            {
                int take = random.Next(1, original.Length - offset + 1);
                stuffer.Write(original.AsSpan(offset, take), wire);
                offset += take;
            }
            Assert.Equal(0, stuffer.Complete(wire));
            byte[] stuffed = [.. wire.WrittenSpan, .. "NEXT"u8];

            int split = random.Next(stuffed.Length + 1);
            DataResult r = DataDriver.Arrivals(Split(stuffed, split));
            Assert.Equal(DataStatus.Complete, r.Status);
            Assert.Equal(Text(original), r.Content);
            Assert.False(r.SawBareLineFeed);
            Assert.False(r.SawBareCarriageReturn);
            Assert.Equal("NEXT", r.Rest);
        }
    }

    // Content with bare CR or LF (only an older spool can hold it) goes out with each one as CRLF: the wire never has
    // a bare CR or LF, so no receiver, however lenient, sees an end of data before the real one, and a dot after a
    // bare LF is stuffed at its line start and comes back as one dot (it used to come back as two).
    [Theory]
    [InlineData("a\n.\r\n", "a\r\n..\r\n.\r\n", 1)]
    [InlineData("a\n.b\r\n", "a\r\n..b\r\n.\r\n", 1)]
    [InlineData("a\r.\r\nMAIL FROM:<x@y>\r\n", "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n", 1)]
    [InlineData("a\n.\nRCPT\r\n", "a\r\n..\r\nRCPT\r\n.\r\n", 2)]
    [InlineData("a\r.\nDATA\r\n", "a\r\n..\r\nDATA\r\n.\r\n", 2)]
    [InlineData("a\r\r\n.\r\n", "a\r\n\r\n..\r\n.\r\n", 1)]
    [InlineData("a\r", "a\r\n.\r\n", 1)]
    [InlineData("\n", "\r\n.\r\n", 1)]
    [InlineData("\r.", "\r\n..\r\n.\r\n", 1)]
    [InlineData("mid\rline\r\n", "mid\r\nline\r\n.\r\n", 1)]
    public void BareLineEndsGoOutAsCrlfAndTheDotAfterThemIsStuffed(string content, string expected, int bareLineEnds)
    {
        byte[] data = Bytes(content);
        for (int i = 0; i <= data.Length; i++)
        {
            for (int j = i; j <= data.Length; j++)
            {
                (string wire, int count) = StuffParts(Split(data, i, j));
                Assert.Equal(expected, wire);
                Assert.Equal(bareLineEnds, count);
            }
        }
    }

    [Fact]
    public void AnyContentAtAnySplitsGivesACrlfCleanWireThatDecodesToTheContentWithBareLineEndsAsCrlf()
    {
        var random = new Random(5323);
        byte[] alphabet = Bytes("\r\n..a");
        for (int round = 0; round < 2000; round++)
        {
            byte[] content = new byte[random.Next(30)];
            for (int i = 0; i < content.Length; i++)
            {
                content[i] = alphabet[random.Next(alphabet.Length)];
            }
            var parts = new List<byte[]>();
            for (int offset = 0; offset < content.Length;)
            {
                int take = random.Next(1, content.Length - offset + 1);
                parts.Add(content[offset..(offset + take)]);
                offset += take;
            }
            (string wire, int count) = StuffParts([.. parts]);
            (string expected, int bare) = WithCrlfLineEnds(Text(content));

            // CRLF-clean, and the only line holding just "." is the last one.
            for (int i = 0; i < wire.Length; i++)
            {
                Assert.True(wire[i] != '\r' || (i + 1 < wire.Length && wire[i + 1] == '\n'), $"bare CR at {i} in {Escape(wire)}");
                Assert.True(wire[i] != '\n' || (i > 0 && wire[i - 1] == '\r'), $"bare LF at {i} in {Escape(wire)}");
            }
            Assert.Equal(wire.Length - 3, ("\r\n" + wire).IndexOf("\r\n.\r\n", StringComparison.Ordinal));
            Assert.Equal(bare, count);

            DataResult r = DataDriver.Arrivals([Bytes(wire)]);
            Assert.Equal(DataStatus.Complete, r.Status);
            Assert.Equal(expected.Length > 0 && !expected.EndsWith("\r\n", StringComparison.Ordinal) ? expected + "\r\n" : expected, r.Content);
            Assert.False(r.SawBareCarriageReturn);
            Assert.False(r.SawBareLineFeed);
        }
    }

    private static (string Wire, int BareLineEnds) StuffParts(byte[][] parts)
    {
        var stuffer = new DotStuffer();
        var output = new ArrayBufferWriter<byte>();
        foreach (byte[] part in parts)
        {
            stuffer.Write(part, output);
        }
        int count = stuffer.Complete(output);
        return (Text(output.WrittenSpan), count);
    }

    private static (string Text, int BareLineEnds) WithCrlfLineEnds(string content)
    {
        var text = new System.Text.StringBuilder();
        int bare = 0;
        for (int i = 0; i < content.Length; i++)
        {
            if (content[i] == '\r' && i + 1 < content.Length && content[i + 1] == '\n')
            {
                text.Append("\r\n");
                i++;
            }
            else if (content[i] is '\r' or '\n')
            {
                text.Append("\r\n");
                bare++;
            }
            else
            {
                text.Append(content[i]);
            }
        }
        return (text.ToString(), bare);
    }

    private static string Escape(string s) => s.Replace("\r", "\\r").Replace("\n", "\\n");
}
