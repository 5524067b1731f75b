using System.Text;
using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class SaslParserTests
{
    [Theory]
    [InlineData("PLAIN", AuthMechanism.Plain, "")]
    [InlineData("plain AGFsaWNlAHNlY3JldA==", AuthMechanism.Plain, "AGFsaWNlAHNlY3JldA==")]
    [InlineData("PLAIN =", AuthMechanism.Plain, "=")]
    [InlineData("LOGIN", AuthMechanism.Login, "")]
    [InlineData("Login YWxpY2U=", AuthMechanism.Login, "YWxpY2U=")]
    [InlineData("LOGIN ", AuthMechanism.Login, "")]
    [InlineData("CRAM-MD5", AuthMechanism.Unknown, "")]
    [InlineData("SCRAM-SHA-256 biwsbj11c2Vy", AuthMechanism.Unknown, "biwsbj11c2Vy")]
    public void AuthArgumentsParse(string argument, AuthMechanism mechanism, string response)
    {
        Assert.True(SaslParser.TryParseAuth(Bytes(argument), out AuthMechanism actual, out ReadOnlySpan<byte> initial));
        Assert.Equal(mechanism, actual);
        Assert.Equal(response, Text(initial));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" PLAIN")]
    [InlineData("PLAIN a b")]
    [InlineData("PL@IN")]
    [InlineData("ABCDEFGHIJKLMNOPQRSTU")]
    public void MalformedAuthArgumentsAreRefused(string argument)
    {
        Assert.False(SaslParser.TryParseAuth(Bytes(argument), out _, out _));
    }

    [Fact]
    public void Base64DecodesIntoScratch()
    {
        byte[] scratch = new byte[64];
        Assert.True(SaslParser.TryDecodeBase64(Bytes("YWxpY2U="), scratch, out ReadOnlySpan<byte> decoded));
        Assert.Equal("alice", Text(decoded));
        Assert.True(decoded.Overlaps(scratch));
    }

    [Theory]
    [InlineData("=")]
    [InlineData("")]
    public void AnEqualsSignOrAnEmptyLineIsAnEmptyResponse(string text)
    {
        Assert.True(SaslParser.TryDecodeBase64(Bytes(text), new byte[8], out ReadOnlySpan<byte> decoded));
        Assert.True(decoded.IsEmpty);
    }

    [Theory]
    [InlineData("YWxpY2U")]
    [InlineData("YWxp Y2U=")]
    [InlineData("!!!!")]
    [InlineData("==")]
    public void InvalidBase64IsRefused(string text)
    {
        Assert.False(SaslParser.TryDecodeBase64(Bytes(text), new byte[64], out _));
    }

    [Fact]
    public void Base64ThatDoesNotFitIsRefused()
    {
        Assert.False(SaslParser.TryDecodeBase64(Bytes("YWxpY2U="), new byte[4], out _));
    }

    [Fact]
    public void APlainMessageSplitsIntoItsThreeParts()
    {
        byte[] message = Encoding.UTF8.GetBytes("admin\0alice\0s3cr\u00e9t");
        Assert.True(SaslParser.TrySplitPlain(message, out var authzid, out var authcid, out var password));
        Assert.Equal("admin", Text(authzid));
        Assert.Equal("alice", Text(authcid));
        Assert.Equal("s3cr\u00e9t", Encoding.UTF8.GetString(password));
    }

    [Fact]
    public void AnEmptyAuthzidIsAllowed()
    {
        Assert.True(SaslParser.TrySplitPlain(Bytes("\0alice\0pw"), out var authzid, out var authcid, out _));
        Assert.True(authzid.IsEmpty);
        Assert.Equal("alice", Text(authcid));
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("\0alice")]
    [InlineData("\0\0pw")]
    [InlineData("\0alice\0")]
    [InlineData("\0alice\0pw\0x")]
    [InlineData("")]
    public void MalformedPlainMessagesAreRefused(string message)
    {
        Assert.False(SaslParser.TrySplitPlain(Bytes(message), out _, out _, out _));
    }
}
