using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;

namespace FastMta.EndToEnd.Tests;

// Bad input over a real socket: each case gets its exact reply and enhanced code, and the session goes on where the
// contract says it does (checked with NOOP). Limits: 10000-byte messages, 3 recipients, 5 errors per session.
public sealed class ProtocolErrorTests(LimitsServerFixture fixture) : IClassFixture<LimitsServerFixture>
{
    private async Task<RawSmtpClient> ConnectWithEhloAsync()
    {
        RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        return client;
    }

    private static Task StillUsableAsync(RawSmtpClient client) => client.CommandAsync("NOOP", 250, "2.0.0");

    [Fact]
    public async Task MailBeforeHeloIsRefusedWith503AndTheSessionGoesOn()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 503, "5.5.1");
        await StillUsableAsync(client);
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
    }

    [Fact]
    public async Task ACommandLineLongerThan512OctetsGets500AndTheSessionGoesOn()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        string line = "NOOP " + new string('x', 513 - 5 - 2); // 513 octets with the CRLF
        await client.CommandAsync(line, 500, "5.5.2");
        await StillUsableAsync(client);
        // A line far beyond the limit, arriving in several writes, is read to its end and discarded.
        await client.WriteAsync("MAIL FROM:<" + new string('a', 20_000));
        await client.WriteAsync(new string('b', 20_000) + "@x.example>\r\n");
        await client.ExpectAsync(500, "5.5.2");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task ACommandLineOfExactly512OctetsIsAccepted()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        string line = "NOOP " + new string('x', 512 - 5 - 2);
        await client.CommandAsync(line, 250, "2.0.0");
    }

    [Fact]
    public async Task AnUnknownCommandGets500AndTheSessionGoesOn()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("FROBNICATE now", 500, "5.5.1");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task RcptBeforeMailGets503()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("RCPT TO:<b@y.example>", 503, "5.5.1");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task DataWithoutMailOrWithoutRecipientsGets503()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("DATA", 503, "5.5.1");
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("DATA", 503, "5.5.1");
        await StillUsableAsync(client);
        // The transaction survived the refused DATA.
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task ASecondMailInOneTransactionGets503()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("MAIL FROM:<c@x.example>", 503, "5.5.1");
        await client.CommandAsync("RSET", 250, "2.0.0");
        await client.CommandAsync("MAIL FROM:<c@x.example>", 250, "2.1.0");
    }

    [Fact]
    public async Task AMalformedSenderAddressGets501With517()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<no address here>", 501, "5.1.7");
        await client.CommandAsync("MAIL FROM:<a@@x.example>", 501, "5.1.7");
        await StillUsableAsync(client);
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
    }

    [Fact]
    public async Task AMalformedRecipientAddressGets501With513()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@@y.example>", 501, "5.1.3");
        await client.CommandAsync("RCPT TO:<>", 501, "5.1.3");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task APathWithoutAngleBracketsGets501With554()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:a@x.example", 501, "5.5.4");
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:b@y.example", 501, "5.5.4");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task AnUnknownMailParameterGets555()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example> FROBNICATE=yes", 555, "5.5.4");
        await client.CommandAsync("MAIL FROM:<a@x.example> BODY=8BITMIME", 250, "2.1.0");
    }

    [Fact]
    public async Task ADeclaredSizeOverTheLimitGets552AtMail()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync($"MAIL FROM:<a@x.example> SIZE={LimitsServerFixture.MaxMessageBytes + 1}", 552, "5.3.4");
        await client.CommandAsync($"MAIL FROM:<a@x.example> SIZE={LimitsServerFixture.MaxMessageBytes}", 250, "2.1.0");
    }

    [Fact]
    public async Task ABodyOverTheLimitGets552AfterItsTerminatorAndItsLinesAreNeverTakenAsCommands()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<big@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
        await client.CommandAsync("DATA", 354);
        var body = new StringBuilder("Subject: too big\r\n\r\n");
        while (body.Length < LimitsServerFixture.MaxMessageBytes * 3)
        {
            // Lines that would each produce a reply (or end the session) if they were read as commands.
            body.Append("RSET\r\nNOOP\r\nQUIT\r\nMAIL FROM:<smuggled@x.example>\r\n");
        }
        await client.WriteAsync(body + ".\r\n");
        await client.ExpectAsync(552, "5.3.4");
        // HELP's 214 must be the very next reply: any reply to a smuggled line would come first.
        await client.CommandAsync("HELP", 214);
        await StillUsableAsync(client);
        // The refused message left no transaction behind.
        await client.CommandAsync("RCPT TO:<b@y.example>", 503, "5.5.1");
    }

    [Fact]
    public async Task TheRecipientBeyondTheLimitGets452AndTheMessageIsAcceptedForTheOthers()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        for (int i = 1; i <= LimitsServerFixture.MaxRecipients; i++)
        {
            await client.CommandAsync($"RCPT TO:<r{i}@y.example>", 250, "2.1.5");
        }
        await client.CommandAsync("RCPT TO:<r4@y.example>", 452, "4.5.3");
        await client.CommandAsync("DATA", 354);
        await client.WriteAsync(MessageContent.DotStuff(MessageContent.Simple("a@x.example", "r1@y.example", "four", "Hello.\r\n")));
        SmtpReply queued = await client.ExpectAsync(250, "2.0.0");
        Assert.Matches(SmtpReply.QueuedAsPattern(), queued.Lines[^1]);
    }

    [Fact]
    public async Task ACommandEndedByABareLineFeedGets500AndTheSessionGoesOn()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.WriteAsync("NOOP\n");
        await client.ExpectAsync(500, "5.5.2");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task ANulInACommandGets500AndTheSessionGoesOn()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.WriteAsync("NO\0OP\r\n");
        await client.ExpectAsync(500, "5.5.2");
        await client.WriteAsync("MAIL FROM:<a\0b@x.example>\r\n");
        await client.ExpectAsync(500, "5.5.2");
        await StillUsableAsync(client);
        await client.WriteAsync("NO\rOP\r\n"); // a bare CR is refused the same way
        await client.ExpectAsync(500, "5.5.2");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task ABareLineFeedInsideDataGets554AfterTheTerminatorAndTheSessionGoesOn()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
        await client.CommandAsync("DATA", 354);
        // "\n.\n" is content, not a terminator: the lines after it must not be read as commands either.
        await client.WriteAsync("Subject: smuggling\r\n\r\nfirst\n.\nMAIL FROM:<evil@x.example>\r\nlast\r\n.\r\n");
        await client.ExpectAsync(554, "5.6.0");
        await client.CommandAsync("HELP", 214);
        await client.CommandAsync("RCPT TO:<b@y.example>", 503, "5.5.1");
    }

    [Fact]
    public async Task TheFifthRejectedCommandIsFollowedBy421AndTheConnectionIsClosed()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        for (int i = 1; i < LimitsServerFixture.MaxErrors; i++)
        {
            await client.CommandAsync("BOGUS", 500, "5.5.1");
        }
        await StillUsableAsync(client); // successful commands do not reset the count
        await client.CommandAsync("BOGUS", 500, "5.5.1");
        await client.ExpectAsync(421, "4.7.0");
        await client.ExpectClosedAsync();
    }

    [Fact]
    public async Task AuthWithoutTlsGets538WhenPlaintextAuthIsNotAllowed()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.AuthPlainAsync("alice", "secret", 538, "5.7.11");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task VrfyGets252WithoutRevealingAnything()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("VRFY alice", 252, "2.1.5");
    }

    [Fact]
    public async Task RcptToPostmasterGets550BecauseThisRelayHasNoMailboxes()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<Postmaster>", 550, "5.1.1");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task NonAsciiAddressesWithoutSmtpUtf8Get553()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<josé@x.example>", 553, "5.6.7");
        await client.CommandAsync("MAIL FROM:<josé@x.example> SMTPUTF8", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<dürst@bücher.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task BdatWithoutMailGets503AndItsChunkIsDiscardedNotReadAsCommands()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        byte[] chunk = "QUIT\r\nMAIL FROM:<smuggled@x.example>\r\n"u8.ToArray();
        await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length} LAST\r\n"), .. chunk]);
        await client.ExpectAsync(503, "5.5.1");
        // Had the chunk been read as commands, QUIT's 221 (and a closed connection) would come here instead.
        await client.CommandAsync("NOOP", 250, "2.0.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 503, "5.5.1"); // no MAIL was smuggled in

        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length}\r\n"), .. chunk]);
        await client.ExpectAsync(503, "5.5.1"); // no recipient yet
        await client.CommandAsync("NOOP", 250, "2.0.0");
    }

    [Fact]
    public async Task BdatWithABadSizeGets501()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
        await client.CommandAsync("BDAT ten", 501, "5.5.4");
        await client.CommandAsync("BDAT 10 FIRST", 501, "5.5.4");
        await client.CommandAsync("NOOP", 250, "2.0.0");
    }

    private static byte[] ContentOfSize(int size)
    {
        var text = new StringBuilder("Subject: exact size\r\n\r\n");
        while (text.Length < size - 60)
        {
            text.Append(".a dot-stuffed line counts once, as the content it carries\r\n");
        }
        text.Append(new string('z', size - text.Length - 2)).Append("\r\n");
        Assert.Equal(size, text.Length);
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    [Theory]
    [InlineData(LimitsServerFixture.MaxMessageBytes, 250)]
    [InlineData(LimitsServerFixture.MaxMessageBytes + 1, 552)]
    public async Task TheSizeLimitCountsTheUnstuffedContentOfADataBody(int size, int expectedCode)
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
        await client.CommandAsync("DATA", 354);
        await client.WriteAsync(MessageContent.DotStuff(ContentOfSize(size)));
        await client.ExpectAsync(expectedCode, expectedCode == 250 ? "2.0.0" : "5.3.4");
        await StillUsableAsync(client);
    }

    [Theory]
    [InlineData(LimitsServerFixture.MaxMessageBytes, 250)]
    [InlineData(LimitsServerFixture.MaxMessageBytes + 1, 552)]
    public async Task TheSizeLimitCountsEveryOctetOfTheBdatChunks(int size, int expectedCode)
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
        byte[] content = ContentOfSize(size);
        await client.WriteAsync([.. "BDAT 5000\r\n"u8, .. content.AsSpan(0, 5000)]);
        await client.ExpectAsync(250, "2.0.0");
        await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {size - 5000} LAST\r\n"), .. content.AsSpan(5000)]);
        await client.ExpectAsync(expectedCode, expectedCode == 250 ? "2.0.0" : "5.3.4");
        await StillUsableAsync(client);
    }

    [Fact]
    public async Task RcptParametersAreNotSupportedYetAndGet555()
    {
        await using RawSmtpClient client = await ConnectWithEhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example> NOTIFY=NEVER", 555, "5.5.4");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task VerbsAreCaseInsensitiveAndAddressLiteralsAreValidHeloNames()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.CommandAsync("ehlo [127.0.0.1]", 250);
        await client.CommandAsync("mail from:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("Rcpt To:<b@y.example>", 250, "2.1.5");
        await client.CommandAsync("rset", 250, "2.0.0");
        await client.CommandAsync("EHLO [999.0.0.1]", 501, "5.5.4");
    }
}
