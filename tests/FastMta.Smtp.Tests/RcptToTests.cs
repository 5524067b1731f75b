using System.Text;
using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class RcptToTests
{
    [Fact]
    public void ARecipientExposesItsDomain()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseRcptTo(Bytes("TO:<bob@example.org>"), false, out RcptToCommand c));
        Assert.Equal("bob@example.org", Text(c.Address));
        Assert.Equal("example.org", Text(c.Domain));
        Assert.False(c.IsPostmaster);
        Assert.True(c.Parameters.IsEmpty);
    }

    [Fact]
    public void TheDomainIsAfterTheLastAtSignOfAQuotedLocalPart()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseRcptTo(Bytes("to: <\"a@b\"@c.example>"), false, out RcptToCommand c));
        Assert.Equal("\"a@b\"@c.example", Text(c.Address));
        Assert.Equal("c.example", Text(c.Domain));
    }

    [Fact]
    public void AnAddressLiteralDomainKeepsItsBrackets()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseRcptTo(Bytes("TO:<bob@[IPv6:2001:db8:0:0:0:0:0:1]>"), false, out RcptToCommand c));
        Assert.Equal("[IPv6:2001:db8:0:0:0:0:0:1]", Text(c.Domain));
    }

    [Fact]
    public void ASourceRouteIsStripped()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseRcptTo(Bytes("TO:<@hosta.example,@hostb.example:user@d.example>"), false, out RcptToCommand c));
        Assert.Equal("user@d.example", Text(c.Address));
        Assert.Equal("d.example", Text(c.Domain));
    }

    [Theory]
    [InlineData("TO:<Postmaster>")]
    [InlineData("TO:<postmaster>")]
    [InlineData("to:<POSTMASTER>")]
    public void BarePostmasterIsRecognisedCaseInsensitively(string argument)
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseRcptTo(Bytes(argument), false, out RcptToCommand c));
        Assert.True(c.IsPostmaster);
        Assert.True(c.Domain.IsEmpty);
        Assert.Equal("postmaster", Text(c.Address).ToLowerInvariant());
    }

    [Fact]
    public void PostmasterWithADomainIsAnOrdinaryRecipient()
    {
        Assert.Equal(PathStatus.Ok, PathParser.TryParseRcptTo(Bytes("TO:<Postmaster@example.org>"), false, out RcptToCommand c));
        Assert.False(c.IsPostmaster);
        Assert.Equal("example.org", Text(c.Domain));
    }

    [Theory]
    [InlineData("TO:bob@example.org", PathStatus.SyntaxError)]
    [InlineData("FROM:<bob@example.org>", PathStatus.SyntaxError)]
    [InlineData("TO:<bob@example.org", PathStatus.SyntaxError)]
    [InlineData("TO:<>", PathStatus.BadAddress)]
    [InlineData("TO:<bob>", PathStatus.BadAddress)]
    [InlineData("TO:<bob@>", PathStatus.BadAddress)]
    [InlineData("TO:<bob@example.org> NOTIFY=NEVER", PathStatus.UnknownParameter)]
    [InlineData("TO:<Postmaster> X=1", PathStatus.UnknownParameter)]
    public void InvalidRecipientsGetTheMatchingStatus(string argument, PathStatus expected)
    {
        Assert.Equal(expected, PathParser.TryParseRcptTo(Bytes(argument), false, out _));
    }

    [Fact]
    public void NonAsciiRecipientsFollowTheTransactionsSmtpUtf8Flag()
    {
        byte[] argument = Encoding.UTF8.GetBytes("TO:<用户@例子.广告>");
        Assert.Equal(PathStatus.NonAsciiWithoutSmtpUtf8, PathParser.TryParseRcptTo(argument, false, out _));
        Assert.Equal(PathStatus.Ok, PathParser.TryParseRcptTo(argument, true, out RcptToCommand c));
        Assert.Equal("例子.广告", Encoding.UTF8.GetString(c.Domain));
    }
}
