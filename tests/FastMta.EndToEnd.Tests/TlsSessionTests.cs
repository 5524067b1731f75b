using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// After STARTTLS the session reads through SslStream instead of the socket pipe: large bodies, timeouts and
// shutdown must behave exactly as in cleartext.
public sealed class TlsSessionTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ALargeMessageSentUnderTlsIsStoredExactlyWithProtocolEsmtps()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var text = new StringBuilder("Subject: large over TLS\r\n\r\n");
        var random = new Random(3207);
        for (int line = 0; text.Length < 2_000_000; line++)
        {
            text.Append(line % 7 == 0 ? "." : "").Append(Convert.ToBase64String(BitConverter.GetBytes(random.NextInt64())))
                .Append(" ü ").Append(line).Append("\r\n");
        }
        byte[] content = Encoding.UTF8.GetBytes(text.ToString());
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            await client.StartTlsAsync();
            await client.EhloAsync("tls.client.example");
            id = await client.SendMessageAsync("tls@x.example", ["b@y.example"], content);
            await client.CommandAsync("QUIT", 221, "2.0.0");
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "tls@x.example", ["b@y.example"], "tls.client.example", "ESMTPS", null, server);
        SpoolAssert.ContentEqual(content, entry.Content, "2 MB over TLS", server);
    }

    [Fact]
    public async Task AnIdleClientUnderTlsGets421WhenTheCommandTimeoutExpires()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:CommandTimeout=00:00:02"], output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();
        client.Timeout = TimeSpan.FromSeconds(15);
        await client.ExpectAsync(421, "4.4.2");
        await client.ExpectClosedAsync();
    }

    [Fact]
    public async Task AnIdleClientUnderTlsGets421OnSigtermAndTheServerExitsWithZero()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();
        server.SendSigterm();
        await client.ExpectAsync(421, "4.3.2");
        await client.ExpectClosedAsync();
        int exitCode = await server.WaitForExitAsync(ServerProcess.StopTimeout);
        Assert.True(exitCode == 0, server.Failure($"exit code {exitCode} after SIGTERM").Message);
    }

    [Fact]
    public async Task AFailedTlsHandshakeClosesOnlyThatConnection()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        await using (RawSmtpClient broken = await RawSmtpClient.ConnectAsync(server))
        {
            await broken.EhloAsync();
            await broken.CommandAsync("STARTTLS", 220, "2.0.0");
            await broken.WriteAsync("this is not a TLS ClientHello\r\n\r\n");
            await broken.ExpectClosedAsync();
        }
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();
        await client.CommandAsync("NOOP", 250, "2.0.0");
        await server.StopGracefullyAsync();
    }
}
