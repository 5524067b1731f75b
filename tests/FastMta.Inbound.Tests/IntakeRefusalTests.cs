using System.Text;
using FastMta.Spool;

namespace FastMta.Inbound.Tests;

// The intake pipeline's typed refusals, answered by the SMTP session with today's replies.
public sealed class IntakeRefusalTests
{
    [Fact]
    public async Task AMessageNamingAnUnknownPoolIsRefusedWith550AndAKnownPoolGoesIntoTheEnvelope()
    {
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup { IsKnownPool = name => name == "warm" });
        SmtpTestClient client = await server.ConnectAsync();

        await client.EnvelopeAsync("sender@client.test", "rcpt@dest.test");
        Assert.Equal("550 5.7.1 X-FastMta-Pool names no configured egress pool\r\n",
            await client.DataAsync("X-FastMta-Pool: cold\r\nSubject: one\r\n\r\nbody\r\n"));
        Assert.Empty(await server.SpooledAsync());

        Assert.StartsWith("250", await client.CommandAsync("MAIL FROM:<sender@client.test>"));
        Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<rcpt@dest.test>"));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await client.DataAsync("X-FastMta-Pool: warm\r\nSubject: two\r\n\r\nbody\r\n"));
        SpooledMessage spooled = Assert.Single(await server.SpooledAsync());
        Assert.Equal("warm", spooled.Pool);
        Assert.DoesNotContain("X-FastMta-Pool", Encoding.UTF8.GetString(spooled.Body.Span));
    }

    [Fact]
    public async Task ContentOverTheLimitIsRefusedWith552OverDataAndBdat()
    {
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup { MaxMessageBytes = 1000 });
        SmtpTestClient client = await server.ConnectAsync();
        string big = "Subject: big\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('x', 98) + "\r\n", 20));

        await client.EnvelopeAsync("sender@client.test", "rcpt@dest.test");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit\r\n", await client.DataAsync(big));

        Assert.StartsWith("250", await client.CommandAsync("MAIL FROM:<sender@client.test>"));
        Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<rcpt@dest.test>"));
        await client.SendAsync($"BDAT {big.Length} LAST\r\n{big}");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit\r\n", await client.ReadReplyAsync());
        Assert.Empty(await server.SpooledAsync());
    }

    [Fact]
    public async Task ABareLineFeedInTheContentIsRefusedWith554()
    {
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync();
        SmtpTestClient client = await server.ConnectAsync();

        await client.EnvelopeAsync("sender@client.test", "rcpt@dest.test");
        Assert.Equal("554 5.6.0 Message contains a bare LF; lines must end with CRLF\r\n",
            await client.DataAsync("Subject: lf\r\n\r\none\ntwo\r\n"));
        Assert.Empty(await server.SpooledAsync());
    }

    [Fact]
    public async Task ASpoolThatIsNotOpenRefusesMailWith451BeforeTheContent()
    {
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup { SpoolOpen = false });
        SmtpTestClient client = await server.ConnectAsync();

        Assert.StartsWith("250", await client.CommandAsync("EHLO client.inbound.test"));
        Assert.Equal("451 4.3.0 Queue write failed, try again later\r\n", await client.CommandAsync("MAIL FROM:<sender@client.test>"));
    }
}
