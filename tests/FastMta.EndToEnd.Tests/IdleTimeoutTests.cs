using System.Diagnostics;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

public sealed class IdleTimeoutTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AClientIdleLongerThanTheCommandTimeoutGets421AndIsDisconnected()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:CommandTimeout=00:00:02"], output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        var idle = Stopwatch.StartNew();
        client.Timeout = TimeSpan.FromSeconds(15);
        await client.ExpectAsync(421, "4.4.2");
        await client.ExpectClosedAsync();
        Assert.True(idle.Elapsed >= TimeSpan.FromSeconds(1.5), $"421 came after {idle.Elapsed}, before the 2 s timeout");
        await server.WaitForNoSessionsAsync();
    }

    [Fact]
    public async Task AClientThatKeepsTalkingIsNotTimedOut()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:CommandTimeout=00:00:02"], output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        // 4 s of traffic in total, never 2 s of silence: every command re-arms the timer.
        var elapsed = Stopwatch.StartNew();
        while (elapsed.Elapsed < TimeSpan.FromSeconds(4))
        {
            await client.CommandAsync("NOOP", 250, "2.0.0");
            await Task.Delay(500);
        }
        await client.CommandAsync("QUIT", 221, "2.0.0");
    }
}

public sealed class SessionLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task AClientSilentInsideDataGets421WhenTheDataTimeoutExpiresAndNothingIsSpooled()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:DataTimeout=00:00:02"], output: output);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<slow@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync("Subject: never finished\r\n\r\nhalf a body\r\n");
            client.Timeout = TimeSpan.FromSeconds(15);
            await client.ExpectAsync(421, "4.4.2");
            await client.ExpectClosedAsync();
        }
        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolAssert.None(spool, e => e.Sender == "slow@x.example", "from the client that fell silent in DATA", server);
    }

    [Fact]
    public async Task AConnectionBeyondMaxConnectionsGets421AndIsClosed()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:MaxConnections=2"], output: output);
        await using RawSmtpClient first = await RawSmtpClient.ConnectAsync(server);
        await using RawSmtpClient second = await RawSmtpClient.ConnectAsync(server);
        await using (RawSmtpClient third = await RawSmtpClient.ConnectAsync(server, readBanner: false))
        {
            await third.ExpectAsync(421, "4.7.0");
            await third.ExpectClosedAsync();
        }
        await first.CommandAsync("QUIT", 221, "2.0.0");
        await first.ExpectClosedAsync();
        await server.WaitForSessionCountAsync(1);
        await using RawSmtpClient fourth = await RawSmtpClient.ConnectAsync(server);
        await fourth.EhloAsync();
        await second.EhloAsync();
    }
}
