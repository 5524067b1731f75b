namespace FastMta.Spool.Tests;

public sealed class MessageIdTests
{
    [Fact]
    public void FormatsAndParsesCrockfordBase32()
    {
        var id = new SpoolMessageId(0x0123456789ABCDEFUL);
        Span<byte> utf8 = stackalloc byte[16];
        Assert.True(id.TryFormat(utf8, out int written));
        Assert.Equal(13, written);
        string text = id.ToString();
        Assert.Equal(text, System.Text.Encoding.ASCII.GetString(utf8[..written]));
        Assert.Equal("028T5CY4TQKFF", text);
        Assert.True(SpoolMessageId.TryParse(text, out SpoolMessageId parsed));
        Assert.Equal(id, parsed);
        Assert.True(SpoolMessageId.TryParse(text.ToLowerInvariant(), out parsed));
        Assert.Equal(id, parsed);
        Assert.Equal("FZZZZZZZZZZZZ", new SpoolMessageId(ulong.MaxValue).ToString());
        Assert.True(SpoolMessageId.TryParse("FZZZZZZZZZZZZ", out parsed));
        Assert.Equal(ulong.MaxValue, parsed.Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0123456789AB")]
    [InlineData("0123456789ABCD")]
    [InlineData("G000000000000")]
    [InlineData("000000000000U")]
    [InlineData("00000000000-0")]
    public void RejectsBadText(string text) => Assert.False(SpoolMessageId.TryParse(text, out _));

    [Fact]
    public void TooSmallDestinationFails() => Assert.False(new SpoolMessageId(1).TryFormat(new byte[12], out _));

    [Fact]
    public void NewIdsStrictlyIncreaseAndSortAsText()
    {
        SpoolMessageId previous = SpoolMessageId.NewId();
        for (int i = 0; i < 100_000; i++)
        {
            SpoolMessageId next = SpoolMessageId.NewId();
            Assert.True(next.Value > previous.Value);
            previous = next;
        }

        SpoolMessageId a = SpoolMessageId.NewId();
        SpoolMessageId b = SpoolMessageId.NewId();
        Assert.True(string.CompareOrdinal(a.ToString(), b.ToString()) < 0);
        Assert.InRange((long)(a.Value >> 16), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
    }
}
