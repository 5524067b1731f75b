using static FastMta.Smtp.Tests.TestSequence;

namespace FastMta.Smtp.Tests;

public sealed class CommandParserTests
{
    [Theory]
    [InlineData("HELO x", SmtpVerb.Helo, "x")]
    [InlineData("ehlo client.example", SmtpVerb.Ehlo, "client.example")]
    [InlineData("MAIL FROM:<a@b>", SmtpVerb.Mail, "FROM:<a@b>")]
    [InlineData("Rcpt TO:<a@b>", SmtpVerb.Rcpt, "TO:<a@b>")]
    [InlineData("DATA", SmtpVerb.Data, "")]
    [InlineData("BDAT 10 LAST", SmtpVerb.Bdat, "10 LAST")]
    [InlineData("RSET", SmtpVerb.Rset, "")]
    [InlineData("noop", SmtpVerb.Noop, "")]
    [InlineData("QUIT", SmtpVerb.Quit, "")]
    [InlineData("VRFY user", SmtpVerb.Vrfy, "user")]
    [InlineData("EXPN list", SmtpVerb.Expn, "list")]
    [InlineData("HELP", SmtpVerb.Help, "")]
    [InlineData("STARTTLS", SmtpVerb.StartTls, "")]
    [InlineData("StartTls", SmtpVerb.StartTls, "")]
    [InlineData("AUTH PLAIN AGEAYg==", SmtpVerb.Auth, "PLAIN AGEAYg==")]
    [InlineData("DATA ", SmtpVerb.Data, "")]
    [InlineData("NOOP  x", SmtpVerb.Noop, " x")]
    public void KnownVerbsAreRecognisedCaseInsensitively(string line, SmtpVerb verb, string argument)
    {
        Assert.Equal(verb, CommandParser.ParseVerb(Bytes(line), out ReadOnlySpan<byte> actual));
        Assert.Equal(argument, Text(actual));
    }

    [Theory]
    [InlineData("")]
    [InlineData("MAI")]
    [InlineData("MAILX")]
    [InlineData("MAIL:")]
    [InlineData("STAR")]
    [InlineData("STARTTL")]
    [InlineData("STARTTLSX")]
    [InlineData("STARTXXX")]
    [InlineData("FOOD bar")]
    [InlineData("M@IL x")]
    [InlineData("\u00cdAIL x")]
    [InlineData(" MAIL x")]
    [InlineData("MAIL\tFROM:<a@b>")]
    public void AnythingElseIsUnknown(string line)
    {
        Assert.Equal(SmtpVerb.Unknown, CommandParser.ParseVerb(Bytes(line), out ReadOnlySpan<byte> argument));
        Assert.True(argument.IsEmpty);
    }

    [Theory]
    [InlineData("NOOP\0")]
    [InlineData("MAIL FROM:<a\0@b>")]
    [InlineData("NO\rOP")]
    [InlineData("RSET\r")]
    public void LinesWithNulOrBareCrAreUnknownAndFlagged(string line)
    {
        Assert.True(CommandParser.ContainsForbiddenControl(Bytes(line)));
        Assert.Equal(SmtpVerb.Unknown, CommandParser.ParseVerb(Bytes(line), out _));
    }

    [Fact]
    public void OrdinaryLinesHaveNoForbiddenControl()
    {
        Assert.False(CommandParser.ContainsForbiddenControl(Bytes("MAIL FROM:<a@b.example>\tSIZE=1")));
    }
}
