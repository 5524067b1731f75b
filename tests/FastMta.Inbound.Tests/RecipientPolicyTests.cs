using System.Text;
using FastMta.Intake;
using FastMta.Spool;

namespace FastMta.Inbound.Tests;

// The recipient policy consulted at RCPT: a policy ahead of the relay rule decides with its own reply, one that
// completes later is awaited in command order, and the relay rule is what decides when no other policy does.
public sealed class RecipientPolicyTests
{
    private const string RefusalReply = "550 5.7.1 <blocked@dest.test> is refused by the test policy\r\n";

    [Fact]
    public async Task APolicyBeforeTheRelayRuleRefusesARecipientWithItsOwnReply()
    {
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup
        {
            Policies = [new RefuseOneAddress("blocked@dest.test", RefusalReply, completeLater: false)],
        });
        SmtpTestClient client = await server.ConnectAsync();

        string[] replies = await client.EnvelopeAsync("sender@client.test", "ok@dest.test", "blocked@dest.test");

        Assert.Equal("250 2.1.5 Ok\r\n", replies[0]);
        Assert.Equal(RefusalReply, replies[1]); // the relay rule alone would have taken it: the client may relay
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await client.DataAsync("Subject: policy\r\n\r\nbody\r\n"));
        SpooledMessage spooled = Assert.Single(await server.SpooledAsync());
        Assert.Equal("ok@dest.test", Assert.Single(spooled.Recipients).Address);
    }

    [Fact]
    public async Task APolicyThatCompletesLaterIsAwaitedAndPipelinedRepliesKeepTheirOrder()
    {
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup
        {
            Policies = [new RefuseOneAddress("blocked@dest.test", RefusalReply, completeLater: true)],
        });
        SmtpTestClient client = await server.ConnectAsync();
        Assert.StartsWith("250", await client.CommandAsync("EHLO client.inbound.test"));

        // RFC 2920: one write, the replies in command order although every RCPT waits for the policy.
        await client.SendAsync("MAIL FROM:<s@client.test>\r\nRCPT TO:<blocked@dest.test>\r\nRCPT TO:<a@dest.test>\r\n"
            + "RCPT TO:<blocked@dest.test>\r\nRCPT TO:<b@dest.test>\r\nDATA\r\n");

        Assert.StartsWith("250 2.1.0", await client.ReadReplyAsync());
        Assert.Equal(RefusalReply, await client.ReadReplyAsync());
        Assert.Equal("250 2.1.5 Ok\r\n", await client.ReadReplyAsync());
        Assert.Equal(RefusalReply, await client.ReadReplyAsync());
        Assert.Equal("250 2.1.5 Ok\r\n", await client.ReadReplyAsync());
        Assert.StartsWith("354", await client.ReadReplyAsync());
        await client.SendAsync("Subject: later\r\n\r\nbody\r\n.\r\n");
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await client.ReadReplyAsync());
        SpooledMessage spooled = Assert.Single(await server.SpooledAsync());
        Assert.Equal(["a@dest.test", "b@dest.test"], spooled.Recipients.Select(r => r.Address));
    }

    [Fact]
    public async Task WithoutOtherPoliciesTheRelayRuleDecides()
    {
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup { ClientsMayRelay = false });
        SmtpTestClient client = await server.ConnectAsync();

        string[] replies = await client.EnvelopeAsync("sender@client.test", "someone@dest.test", "postmaster");

        Assert.Equal("554 5.7.1 Relay access denied\r\n", replies[0]);
        Assert.Equal("550 5.1.1 This relay has no local mailboxes\r\n", replies[1]);
    }

    [Fact]
    public async Task APolicyIsToldTheSenderTheClientAndItsAuthority()
    {
        var seen = new SeenRequests();
        await using InProcessSmtpServer server = await InProcessSmtpServer.StartAsync(new ServerSetup { Policies = [seen] });
        SmtpTestClient client = await server.ConnectAsync();

        await client.EnvelopeAsync("sender@client.test", "one@dest.test", "postmaster");
        Assert.StartsWith("250", await client.CommandAsync("RSET"));
        Assert.StartsWith("250", await client.CommandAsync("MAIL FROM:<>"));
        Assert.StartsWith("250", await client.CommandAsync("RCPT TO:<two@dest.test>"));

        Assert.Equal(
            [
                ("one@dest.test", "sender@client.test", false, "127.0.0.1", true),
                ("postmaster", "sender@client.test", true, "127.0.0.1", true),
                ("two@dest.test", "", false, "127.0.0.1", true),
            ], seen.Requests);
    }

    // Records what it is asked and abstains.
    private sealed class SeenRequests : IRecipientPolicy
    {
        public List<(string Address, string Sender, bool Postmaster, string? Client, bool MayRelay)> Requests { get; } = [];

        public ValueTask<RecipientVerdict> EvaluateAsync(RecipientRequest request, CancellationToken cancellationToken)
        {
            Requests.Add((Encoding.UTF8.GetString(request.Address.Span), Encoding.UTF8.GetString(request.Sender.Span),
                request.IsPostmaster, request.Client?.ToString(), request.ClientInRelayNetworks));
            return ValueTask.FromResult(RecipientVerdict.Abstain);
        }
    }

    // Refuses one address with its own reply and abstains for every other, at once or after a short wait.
    private sealed class RefuseOneAddress(string address, string reply, bool completeLater) : IRecipientPolicy
    {
        private readonly byte[] _address = Encoding.UTF8.GetBytes(address);
        private readonly ReadOnlyMemory<byte> _reply = Encoding.ASCII.GetBytes(reply);

        public ValueTask<RecipientVerdict> EvaluateAsync(RecipientRequest request, CancellationToken cancellationToken)
        {
            RecipientVerdict verdict = request.Address.Span.SequenceEqual(_address)
                ? RecipientVerdict.Reject(_reply, "test_policy")
                : RecipientVerdict.Abstain;
            return completeLater ? LaterAsync(verdict, cancellationToken) : ValueTask.FromResult(verdict);
        }

        private static async ValueTask<RecipientVerdict> LaterAsync(RecipientVerdict verdict, CancellationToken cancellationToken)
        {
            await Task.Delay(20, cancellationToken);
            return verdict;
        }
    }
}
