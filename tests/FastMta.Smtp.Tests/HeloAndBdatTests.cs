using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class HeloAndBdatTests
{
    [Theory]
    [InlineData("client.example", "client.example")]
    [InlineData("client.example   ", "client.example")]
    [InlineData("localhost", "localhost")]
    [InlineData("my_host.example", "my_host.example")]
    [InlineData("[192.0.2.7]", "[192.0.2.7]")]
    [InlineData("[IPv6:2001:db8::7]", "[IPv6:2001:db8::7]")]
    public void ValidHeloNamesAreReturnedTrimmed(string argument, string expected)
    {
        Assert.True(PathParser.TryParseHeloDomain(Bytes(argument), out ReadOnlySpan<byte> domain));
        Assert.Equal(expected, Text(domain));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("bad host")]
    [InlineData("a..b")]
    [InlineData("a@b")]
    [InlineData("[192.0.2]")]
    [InlineData("[192.0.2.7")]
    [InlineData("h\u00e9llo")]
    public void InvalidHeloNamesAreRefused(string argument)
    {
        Assert.False(PathParser.TryParseHeloDomain(Bytes(argument), out ReadOnlySpan<byte> domain));
        Assert.True(domain.IsEmpty);
    }

    [Theory]
    [InlineData("1000", 1000, false)]
    [InlineData("0 LAST", 0, true)]
    [InlineData("42 last", 42, true)]
    [InlineData("42 LAST  ", 42, true)]
    [InlineData("42 ", 42, false)]
    [InlineData("9223372036854775807", long.MaxValue, false)]
    public void ValidBdatArgumentsParse(string argument, long size, bool last)
    {
        Assert.True(PathParser.TryParseBdat(Bytes(argument), out long actualSize, out bool actualLast));
        Assert.Equal(size, actualSize);
        Assert.Equal(last, actualLast);
    }

    [Theory]
    [InlineData("")]
    [InlineData("LAST")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1x")]
    [InlineData("1 FIRST")]
    [InlineData("1 LAST X")]
    [InlineData("9223372036854775808")]
    [InlineData(" 1")]
    public void InvalidBdatArgumentsAreRefused(string argument)
    {
        Assert.False(PathParser.TryParseBdat(Bytes(argument), out _, out _));
    }
}
