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
    [InlineData("a\r", "a\r\r\n.\r\n")]
    [InlineData(".\r\n", "..\r\n.\r\n")]
    [InlineData("x\r\n.y\r\n..\r\n", "x\r\n..y\r\n...\r\n.\r\n")]
    [InlineData("a.b\r\n", "a.b\r\n.\r\n")]
    [InlineData("a\n.\r\n", "a\n..\r\n.\r\n")]
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
            // CRLF-only content (bare CR allowed, bare LF not: the decoder refuses it by design).
            var content = new List<byte>();
            int length = random.Next(200);
            while (content.Count < length)
            {
                byte b = alphabet[random.Next(alphabet.Length)];
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
            stuffer.Complete(wire);
            byte[] stuffed = [.. wire.WrittenSpan, .. "NEXT"u8];

            int split = random.Next(stuffed.Length + 1);
            DataResult r = DataDriver.Arrivals(Split(stuffed, split));
            Assert.Equal(DataStatus.Complete, r.Status);
            Assert.Equal(Text(original), r.Content);
            Assert.False(r.SawBareLineFeed);
            Assert.Equal("NEXT", r.Rest);
        }
    }
}
