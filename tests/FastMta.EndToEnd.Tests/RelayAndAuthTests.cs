using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;

namespace FastMta.EndToEnd.Tests;

// 127.0.0.1 is outside Mta:Relay:Networks here, so only an authenticated client may relay; AUTH is allowed without
// TLS (Mta:Auth:AllowPlaintext) so the exchange can be read on the wire.
public sealed class RelayServerFixture : ServerFixture
{
    protected override IEnumerable<string> Settings =>
        ["Mta:Relay:Networks=10.0.0.0/8", "Mta:Auth:Users:alice=secret", "Mta:Auth:AllowPlaintext=true"];
}

public sealed class RelayAndAuthTests(RelayServerFixture fixture) : IClassFixture<RelayServerFixture>
{
    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task AnUnauthenticatedClientOutsideTheRelayNetworksGets554AtRcpt()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        SmtpReply ehlo = await client.EhloAsync();
        Assert.True(ehlo.Extensions.Contains("AUTH PLAIN LOGIN"), $"AUTH not offered with AllowPlaintext: {ehlo}");
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 554, "5.7.1");
        await client.CommandAsync("NOOP", 250, "2.0.0");
    }

    [Fact]
    public async Task AuthPlainLetsTheClientRelay()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        await client.AuthPlainAsync("alice", "secret", 235, "2.7.0");
        await client.CommandAsync("AUTH PLAIN " + B64("\0alice\0secret"), 503, "5.5.1"); // already authenticated
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task AuthPlainWithAnEmptyInitialResponseAsksForItWith334()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        SmtpReply challenge = await client.CommandAsync("AUTH PLAIN", 334);
        Assert.Equal(["334 "], challenge.Lines);
        await client.CommandAsync(B64("\0alice\0secret"), 235, "2.7.0");
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task AuthLoginLetsTheClientRelay()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        await client.CommandAsync("AUTH LOGIN", 334);
        await client.CommandAsync(B64("alice"), 334);
        await client.CommandAsync(B64("secret"), 235, "2.7.0");
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
    }

    [Fact]
    public async Task AWrongPasswordGets535AndLeavesTheClientUnauthenticated()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        await client.AuthPlainAsync("alice", "wrong", 535, "5.7.8");
        await client.AuthPlainAsync("mallory", "secret", 535, "5.7.8");
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 554, "5.7.1");
        await client.CommandAsync("RSET", 250, "2.0.0");
        await client.AuthPlainAsync("alice", "secret", 235, "2.7.0"); // 2 failures: still within the budget of 5
    }

    [Fact]
    public async Task ACancelledAuthExchangeGets501()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        await client.CommandAsync("AUTH LOGIN", 334);
        await client.CommandAsync("*", 501, "5.7.0");
        await client.CommandAsync("NOOP", 250, "2.0.0");
    }
}

// Own server: the failure counter is per client address and would lock the other tests out for the window.
public sealed class AuthLockoutTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task AfterFiveFailedAttemptsFromOneAddressTheNextAuthGets454EvenWithTheRightPassword()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Auth:Users:alice=secret", "Mta:Auth:AllowPlaintext=true"], output: output);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            for (int i = 0; i < 5; i++)
            {
                await client.AuthPlainAsync("alice", $"guess{i}", 535, "5.7.8");
            }
            await client.AuthPlainAsync("alice", "secret", 454, "4.7.0");
        }
        // The limit is per address, not per session: a new connection is refused too.
        await using RawSmtpClient again = await RawSmtpClient.ConnectAsync(server);
        await again.EhloAsync();
        await again.AuthPlainAsync("alice", "secret", 454, "4.7.0");
    }
}
