using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// SIGTERM: sessions waiting for a command hear 421 4.3.2, a session inside DATA finishes its message first, the
// spool is closed and the process exits 0.
public sealed class GracefulShutdownTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SigtermSends421ToIdleSessionsExitsWithZeroAndKeepsTheMessageAcknowledgedJustBefore()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        await using RawSmtpClient sender = await RawSmtpClient.ConnectAsync(server);
        await using RawSmtpClient idle = await RawSmtpClient.ConnectAsync(server);
        await idle.EhloAsync();
        await sender.EhloAsync("sender.client.example");
        byte[] content = MessageContent.Simple("last@x.example", "b@y.example", "just before SIGTERM", "Keep me.\r\n");
        string id = await sender.SendMessageAsync("last@x.example", ["b@y.example"], content);

        server.SendSigterm();
        await idle.ExpectAsync(421, "4.3.2");
        await idle.ExpectClosedAsync();
        await sender.ExpectAsync(421, "4.3.2");
        await sender.ExpectClosedAsync();
        int exitCode = await server.WaitForExitAsync(ServerProcess.StopTimeout);
        Assert.True(exitCode == 0, server.Failure($"exit code {exitCode} after SIGTERM").Message);

        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "last@x.example", ["b@y.example"], "sender.client.example", "ESMTP", null, server);
        SpoolAssert.ContentEqual(content, entry.Content, "message acknowledged before SIGTERM", server);
    }

    [Fact]
    public async Task ASessionInsideDataWhenSigtermArrivesFinishesItsMessageBeforeTheServerExits()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        byte[] content = MessageContent.Simple("draining@x.example", "b@y.example", "in flight", "First half.\r\nSecond half.\r\n");
        byte[] stuffed = MessageContent.DotStuff(content);
        int half = stuffed.Length / 2;
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync("draining.client.example");
            await client.CommandAsync("MAIL FROM:<draining@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync(stuffed.AsMemory(0, half));

            server.SendSigterm();
            await WaitUntilNotListeningAsync(server); // the shutdown has begun
            Assert.False(server.HasExited, server.Failure("The server exited while a message was still being received.").Message);

            await client.WriteAsync(stuffed.AsMemory(half));
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
            await client.ExpectAsync(421, "4.3.2");
            await client.ExpectClosedAsync();
        }
        int exitCode = await server.WaitForExitAsync(ServerProcess.StopTimeout);
        Assert.True(exitCode == 0, server.Failure($"exit code {exitCode} after SIGTERM").Message);

        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.ContentEqual(content, entry.Content, "message finished during shutdown", server);
    }

    private static async Task WaitUntilNotListeningAsync(ServerProcess server)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            using var probe = new TcpClient(AddressFamily.InterNetwork);
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await probe.ConnectAsync(IPAddress.Loopback, server.SmtpPort, cts.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                return;
            }
            await Task.Delay(50);
        }
        throw server.Failure("The SMTP listener was still accepting connections 15 s after SIGTERM.");
    }
}

public sealed class ShutdownDuringAuthTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AClientThatWasAskedForItsAuthResponseGets421OnSigtermWithoutDelayingTheExit()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Auth:Users:alice=secret", "Mta:Auth:AllowPlaintext=true"], output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.CommandAsync("AUTH LOGIN", 334); // the server now waits for the user name: a command-channel wait
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        server.SendSigterm();
        await client.ExpectAsync(421, "4.3.2");
        await client.ExpectClosedAsync();
        int exitCode = await server.WaitForExitAsync(ServerProcess.StopTimeout);
        Assert.True(exitCode == 0, server.Failure($"exit code {exitCode} after SIGTERM").Message);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10),
            server.Failure($"The server took {stopwatch.Elapsed} to stop: it waited on a client idle in an AUTH exchange.").Message);
    }
}
