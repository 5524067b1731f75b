using System.Text;
using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class MailFromTests
{
    [Fact]
    public void ASimpleSenderHasNoParameters()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseMailFrom(Bytes("FROM:<alice@example.com>"), out MailFromCommand c));
        Assert.Equal("alice@example.com", Text(c.Address));
        Assert.True(c.Parameters.IsEmpty);
        Assert.Equal(-1, c.DeclaredSize);
        Assert.Equal(BodyType.None, c.Body);
        Assert.False(c.SmtpUtf8);
    }

    [Fact]
    public void TheNullReversePathHasAnEmptyAddress()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseMailFrom(Bytes("FROM:<>"), out MailFromCommand c));
        Assert.True(c.Address.IsEmpty);
    }

    [Fact]
    public void ParametersAreParsedAndKeptVerbatim()
    {
        Assert.Equal(PathStatus.Ok,
            PathParser.TryParseMailFrom(Bytes("from:<a@b.example>  size=123 BODY=8bitmime  SMTPUTF8 AUTH=<>  "), out MailFromCommand c));
        Assert.Equal("a@b.example", Text(c.Address));
        Assert.Equal("size=123 BODY=8bitmime  SMTPUTF8 AUTH=<>", Text(c.Parameters));
        Assert.Equal(123, c.DeclaredSize);
        Assert.Equal(BodyType.EightBitMime, c.Body);
        Assert.True(c.SmtpUtf8);
    }

    [Theory]
    [InlineData("FROM: <a@b.example>")]
    [InlineData("FROM:   <a@b.example>")]
    [InlineData("FROM:<a@b.example> BODY=7BIT")]
    [InlineData("FROM:<a@b.example> AUTH=user+2Bx@example.com")]
    [InlineData("FROM:<a@b.example> SIZE=0")]
    [InlineData("FROM:<\"john doe\"@b.example>")]
    [InlineData("FROM:<\"a>b\\\"c\"@b.example>")]
    [InlineData("FROM:<a@[192.0.2.1]>")]
    [InlineData("FROM:<a@[IPv6:2001:db8::1]>")]
    [InlineData("FROM:<a@[IPv6:::ffff:192.0.2.1]>")]
    [InlineData("FROM:<@relay.example,@other.example:a@b.example>")]
    [InlineData("FROM:<first.last+tag@sub_domain.b-c.example>")]
    [InlineData("FROM:<!#$%&'*+-/=?^_`{|}~@b.example>")]
    public void ValidSendersAreAccepted(string argument)
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseMailFrom(Bytes(argument), out _));
    }

    [Fact]
    public void ASourceRouteIsStripped()
    {
        PathParser.TryParseMailFrom(Bytes("FROM:<@r1.example,@r2.example:a@b.example>"), out MailFromCommand c);
        Assert.Equal("a@b.example", Text(c.Address));
    }

    [Theory]
    [InlineData("FROM:a@b.example", PathStatus.SyntaxError)]
    [InlineData("FROM:<a@b.example", PathStatus.SyntaxError)]
    [InlineData("FROM <a@b.example>", PathStatus.SyntaxError)]
    [InlineData("TO:<a@b.example>", PathStatus.SyntaxError)]
    [InlineData("", PathStatus.SyntaxError)]
    [InlineData("FROM:<a@b.example>SIZE=1", PathStatus.SyntaxError)]
    [InlineData("FROM:<a@b.example> =1", PathStatus.SyntaxError)]
    [InlineData("FROM:<a>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@>", PathStatus.BadAddress)]
    [InlineData("FROM:<@b.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a b@c.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<.a@b.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a..b@b.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a.@b.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@b..example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@-b.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@b-.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@b.example.>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@[300.0.0.1]>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@[1.2.3]>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@[IPv6:1::2::3]>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@[IPv6:1:2:3:4:5:6:7]>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@[IPv6:12345::1]>", PathStatus.BadAddress)]
    [InlineData("FROM:<\"unterminated@b.example>", PathStatus.SyntaxError)]
    [InlineData("FROM:<@relay.example:>", PathStatus.BadAddress)]
    [InlineData("FROM:<@relay.example a@b.example>", PathStatus.BadAddress)]
    [InlineData("FROM:<a@b.example> FOO=bar", PathStatus.UnknownParameter)]
    [InlineData("FROM:<a@b.example> RET=HDRS", PathStatus.UnknownParameter)]
    [InlineData("FROM:<a@b.example> SIZE=", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> SIZE", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> SIZE=-1", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> SIZE=12a", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> SIZE=99999999999999999999", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> BODY=BINARYMIME", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> BODY", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> SMTPUTF8=yes", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> AUTH=", PathStatus.BadParameterValue)]
    [InlineData("FROM:<a@b.example> AUTH=a+zz", PathStatus.BadParameterValue)]
    public void InvalidSendersGetTheMatchingStatus(string argument, PathStatus expected)
    {
        Assert.Equal(expected, PathParser.TryParseMailFrom(Bytes(argument), out _));
    }

    [Fact]
    public void SizeUpToLongMaxIsAccepted()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseMailFrom(Bytes($"FROM:<a@b> SIZE={long.MaxValue}"), out MailFromCommand c));
        Assert.Equal(long.MaxValue, c.DeclaredSize);
        Assert.Equal(PathStatus.BadParameterValue, PathParser.TryParseMailFrom(Bytes("FROM:<a@b> SIZE=9223372036854775808"), out _));
    }

    [Fact]
    public void ALocalPartOf64OctetsIsAcceptedAnd65IsNot()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseMailFrom(Bytes($"FROM:<{new string('a', 64)}@b.example>"), out _));
        Assert.Equal(PathStatus.BadAddress, PathParser.TryParseMailFrom(Bytes($"FROM:<{new string('a', 65)}@b.example>"), out _));
    }

    [Fact]
    public void APathOver256OctetsIsABadAddress()
    {
        string domain = string.Join('.', Enumerable.Repeat(new string('d', 50), 4)); // 203 octets
        string ok = $"<{new string('a', 50)}@{domain}>";                            // 256 octets
        Assert.Equal(256, ok.Length);
        Assert.Equal(PathStatus.Ok, PathParser.TryParseMailFrom(Bytes("FROM:" + ok), out _));
        Assert.Equal(PathStatus.BadAddress, PathParser.TryParseMailFrom(Bytes($"FROM:<{new string('a', 51)}@{domain}>"), out _));
    }

    [Fact]
    public void NonAsciiNeedsTheSmtpUtf8ParameterOnTheSameCommand()
    {
        byte[] without = Encoding.UTF8.GetBytes("FROM:<jös@bücher.example>");
        byte[] with = Encoding.UTF8.GetBytes("FROM:<jös@bücher.example> SMTPUTF8");
        Assert.Equal(PathStatus.NonAsciiWithoutSmtpUtf8, PathParser.TryParseMailFrom(without, out _));
        Assert.Equal(PathStatus.Ok, PathParser.TryParseMailFrom(with, out MailFromCommand c));
        Assert.Equal("jös@bücher.example", Encoding.UTF8.GetString(c.Address));
        Assert.True(c.SmtpUtf8);
    }

    [Fact]
    public void InvalidUtf8IsABadAddressEvenWithSmtpUtf8()
    {
        byte[] argument = [.. Bytes("FROM:<a"), 0xC3, 0x28, .. Bytes("@b.example> SMTPUTF8")];
        Assert.Equal(PathStatus.BadAddress, PathParser.TryParseMailFrom(argument, out _));
    }

    [Fact]
    public void ControlCharactersInAQuotedLocalPartAreRefused()
    {
        Assert.Equal(PathStatus.BadAddress, PathParser.TryParseMailFrom(Bytes("FROM:<\"a\tb\"@b.example>"), out _));
    }

    [Fact]
    public void AddressErrorsWinOverParameterErrors()
    {
        Assert.Equal(PathStatus.BadAddress, PathParser.TryParseMailFrom(Bytes("FROM:<a> FOO=1"), out _));
    }
}
