using System.Buffers;
using System.Text;

namespace FastMta.Smtp.Tests;

public sealed class HeaderFieldStripperTests
{
    private const string Name = "X-FastMta-Pool";

    [Theory]
    [InlineData("X-FastMta-Pool: bulk\r\nSubject: a\r\n\r\nbody\r\n", "Subject: a\r\n\r\nbody\r\n", "bulk")]
    [InlineData("Subject: a\r\nx-fastmta-pool:bulk  \r\nTo: b\r\n\r\nbody\r\n", "Subject: a\r\nTo: b\r\n\r\nbody\r\n", "bulk")]
    [InlineData("Subject: a\r\nX-FASTMTA-POOL:\r\n\tbulk-1\r\nTo: b\r\n\r\n", "Subject: a\r\nTo: b\r\n\r\n", "bulk-1")]
    [InlineData("X-FastMta-Pool: one\r\nX-FastMta-Pool: two\r\n\r\n", "\r\n", "one")]
    [InlineData("Subject: a\r\n\tX-FastMta-Pool: folded\r\n\r\nX-FastMta-Pool: body\r\n", "Subject: a\r\n\tX-FastMta-Pool: folded\r\n\r\nX-FastMta-Pool: body\r\n", null)]
    [InlineData("X-FastMta-Pools: no\r\nX-FastMta-Poo: no\r\nX-FastMta-Pool : obsolete form\r\n\r\n", "X-FastMta-Pools: no\r\nX-FastMta-Poo: no\r\nX-FastMta-Pool : obsolete form\r\n\r\n", null)]
    [InlineData("Subject: a\r\n\r\n", "Subject: a\r\n\r\n", null)]
    [InlineData("\r\nX-FastMta-Pool: body only\r\n", "\r\nX-FastMta-Pool: body only\r\n", null)]
    [InlineData("X-FastMta-Pool: last\r\n", "", "last")]
    [InlineData("Subject: no end of headers\r\nX-Fast", "Subject: no end of headers\r\nX-Fast", null)]
    public void StripsTheFieldFromTheHeaderSectionOnlyWhateverTheSegmentation(string input, string expected, string? value)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(input);

        // Every split into two writes, and one byte at a time.
        for (int split = 0; split <= bytes.Length; split++)
        {
            (string output, HeaderFieldStripper stripper) = Run([bytes[..split], bytes[split..]]);
            Assert.Equal(expected, output);
            Assert.Equal(value, stripper.Value);
            Assert.Equal(value is not null, stripper.Found);
        }

        (string single, HeaderFieldStripper bytewise) = Run(bytes.Select(b => new[] { b }).ToArray());
        Assert.Equal(expected, single);
        Assert.Equal(value, bytewise.Value);
    }

    [Fact]
    public void AValueLongerThanTheLimitIsFoundButNotKept()
    {
        string input = $"{Name}: {new string('p', HeaderFieldStripper.MaxValueLength + 1)}\r\nSubject: a\r\n\r\nb\r\n";
        (string output, HeaderFieldStripper stripper) = Run([Encoding.ASCII.GetBytes(input)]);
        Assert.Equal("Subject: a\r\n\r\nb\r\n", output);
        Assert.True(stripper.Found);
        Assert.True(stripper.ValueTooLong);
        Assert.Null(stripper.Value);
    }

    [Fact]
    public void ResetStartsAFreshMessage()
    {
        var stripper = new HeaderFieldStripper(Name);
        var first = new ArrayBufferWriter<byte>();
        stripper.Reset(first);
        stripper.Write("X-FastMta-Pool: a\r\n\r\nbody"u8);
        stripper.Complete();
        Assert.Equal("a", stripper.Value);

        var second = new ArrayBufferWriter<byte>();
        stripper.Reset(second);
        stripper.Write("Subject: b\r\n\r\n"u8);
        stripper.Complete();
        Assert.False(stripper.Found);
        Assert.Null(stripper.Value);
        Assert.Equal("Subject: b\r\n\r\n", Encoding.ASCII.GetString(second.WrittenSpan));
    }

    [Fact]
    public void TheBodyIsWrittenStraightIntoTheInnerWriterWithoutAllocating()
    {
        var stripper = new HeaderFieldStripper(Name);
        var inner = new ArrayBufferWriter<byte>(1 << 20);
        stripper.Reset(inner);
        stripper.Write("Subject: a\r\n\r\n"u8);
        byte[] line = Encoding.ASCII.GetBytes(new string('x', 998) + "\r\n");

        // Past the header section GetSpan hands out the inner writer's own memory.
        Assert.True(stripper.GetMemory(10).Equals(inner.GetMemory(10)));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            stripper.Write(line);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(14 + (100 * line.Length), inner.WrittenCount);
    }

    private static (string Output, HeaderFieldStripper Stripper) Run(byte[][] pieces)
    {
        var stripper = new HeaderFieldStripper(Name);
        var inner = new ArrayBufferWriter<byte>();
        stripper.Reset(inner);
        foreach (byte[] piece in pieces)
        {
            stripper.Write(piece);
        }

        stripper.Complete();
        return (Encoding.ASCII.GetString(inner.WrittenSpan), stripper);
    }
}
