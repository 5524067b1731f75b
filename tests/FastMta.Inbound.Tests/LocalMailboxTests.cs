using System.Text;
using FastMta.Intake;
using FastMta.Spool;

namespace FastMta.Inbound.Tests;

// The local-domain hook: mail for one of FastMta's own domains is taken from any client and handed to its mailbox
// before the 250, never spooled for delivery; remote recipients of the same message are spooled as before; a mailbox
// that fails makes the message 451, with nothing spooled.
public sealed class LocalMailboxTests
{
    private const string LocalDomain = "bounces.mta.inbound.test";

    [Fact]
    public async Task MailForALocalDomainIsTakenFromAnyClientAndHandedToItsMailboxWithoutBeingSpooled()
    {
        var mailbox = new RecordingMailbox();
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup
        {
            ClientsMayRelay = false,
            LocalDomains = [new LocalDomain(LocalDomain, mailbox)],
        });
        SmtpTestClient client = await server.ConnectAsync();

        string[] replies = await client.EnvelopeAsync("", "someone@dest.test", "bounce+42@BOUNCES.mta.inbound.test");
        string reply = await client.DataAsync("Subject: delivery report\r\n\r\nreport\r\n");

        Assert.Equal("554 5.7.1 Relay access denied\r\n", replies[0]); // the relay rule still holds for other domains
        Assert.Equal("250 2.1.5 Ok\r\n", replies[1]);
        Assert.StartsWith("250 2.0.0 Ok: queued as ", reply);
        Received message = Assert.Single(mailbox.Messages);
        Assert.Equal(reply["250 2.0.0 Ok: queued as ".Length..].TrimEnd(), message.Id);
        Assert.Equal("", message.Sender);
        Assert.Equal(["bounce+42@BOUNCES.mta.inbound.test"], message.Recipients);
        Assert.StartsWith("Received: from client.inbound.test ([127.0.0.1])\r\n\tby mta.inbound.test (FastMta) with ESMTP id ", message.Content);
        Assert.EndsWith("\r\nSubject: delivery report\r\n\r\nreport\r\n", message.Content);
        Assert.Empty(await server.SpooledAsync()); // nothing for the queue to deliver
    }

    [Fact]
    public async Task TheRemoteRecipientsOfTheSameMessageAreSpooledAsBefore()
    {
        var mailbox = new RecordingMailbox();
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup
        {
            LocalDomains = [new LocalDomain(LocalDomain, mailbox)],
        });
        SmtpTestClient client = await server.ConnectAsync();

        await client.EnvelopeAsync("sender@client.test", "remote@dest.test", "fbl@" + LocalDomain);
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await client.DataAsync("Subject: both\r\nX-FastMta-Pool: warm\r\n\r\nbody\r\n"));

        Received local = Assert.Single(mailbox.Messages);
        SpooledMessage spooled = Assert.Single(await server.SpooledAsync());
        Assert.Equal("remote@dest.test", Assert.Single(spooled.Recipients).Address);
        Assert.Equal(["fbl@" + LocalDomain], local.Recipients);
        Assert.Equal(spooled.Id.ToString(), local.Id);
        Assert.Equal(Encoding.UTF8.GetString(spooled.Body.Span), local.Content); // the same bytes, pool header taken out
        Assert.DoesNotContain("X-FastMta-Pool", local.Content);
        Assert.Equal("warm", spooled.Pool);
    }

    [Fact]
    public async Task AMailboxThatFailsGets451AndNothingIsSpooled()
    {
        var mailbox = new RecordingMailbox { Fail = true };
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup
        {
            LocalDomains = [new LocalDomain(LocalDomain, mailbox)],
        });
        SmtpTestClient client = await server.ConnectAsync();

        await client.EnvelopeAsync("sender@client.test", "remote@dest.test", "abuse@" + LocalDomain);
        Assert.Equal("451 4.3.0 Local mailbox unavailable, try again later\r\n", await client.DataAsync("Subject: x\r\n\r\nbody\r\n"));
        Assert.Empty(await server.SpooledAsync()); // the remote part waits for the client's retry with the rest

        // The session goes on: the next message (remote only) is taken.
        Assert.StartsWith("250", await client.CommandAsync("MAIL FROM:<sender@client.test>"));
        Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<remote@dest.test>"));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await client.DataAsync("Subject: y\r\n\r\nbody\r\n"));
        Assert.Single(await server.SpooledAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AMessageForALocalMailboxOverItsMemoryBoundIsRefusedWith552(bool withRemoteRecipient)
    {
        var mailbox = new RecordingMailbox();
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup
        {
            MaxLocalMessageBytes = 4096,
            LocalDomains = [new LocalDomain(LocalDomain, mailbox)],
        });
        SmtpTestClient client = await server.ConnectAsync();
        string big = "Subject: big report\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('r', 98) + "\r\n", 60));
        string small = "Subject: small report\r\n\r\nreport\r\n";

        await client.EnvelopeAsync("", withRemoteRecipient ? ["remote@dest.test", "fbl@" + LocalDomain] : ["fbl@" + LocalDomain]);
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit\r\n", await client.DataAsync(big)); // 6 KB > 4 KiB
        Assert.Empty(mailbox.Messages);
        Assert.Empty(await server.SpooledAsync());

        // Under the bound, the same session's next message is taken.
        Assert.StartsWith("250", await client.CommandAsync("MAIL FROM:<>"));
        Assert.StartsWith("250", await client.CommandAsync($"RCPT TO:<fbl@{LocalDomain}>"));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await client.DataAsync(small));
        Assert.EndsWith(small, Assert.Single(mailbox.Messages).Content);
    }

    internal sealed record Received(string Id, string Sender, string[] Recipients, string Content);

    // Keeps a copy of what it is given (the buffers are the pipeline's, valid only during the call).
    private sealed class RecordingMailbox : ILocalMailbox
    {
        public List<Received> Messages { get; } = [];

        public bool Fail { get; init; }

        public async ValueTask DeliverAsync(LocalMessage message, CancellationToken cancellationToken)
        {
            await Task.Yield(); // as a real mailbox would: the session waits for it
            if (Fail)
            {
                throw new IOException("the test mailbox is full");
            }
            lock (Messages)
            {
                Messages.Add(new Received(message.Id.ToString(), Encoding.UTF8.GetString(message.Sender.Span),
                    [.. message.Recipients.Select(r => Encoding.UTF8.GetString(r.Span))], Encoding.UTF8.GetString(message.Content.Span)));
            }
        }
    }
}
