using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastMta.Queue;
using FastMta.Tests.Shared;
using static FastMta.Outbound.Tests.TestSupport;

namespace FastMta.Outbound.Tests;

public sealed class PoolAndExternalTests
{
    [Fact]
    public async Task ConcurrentDeliveriesNeverExceedTheConnectionLimit()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.MaxConnectionsPerHost = 2;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        DeliveryResult[] results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            agent.DeliverAsync(Request("x\r\n"u8.ToArray(), [$"r{i}@dest.test"]), CancellationToken.None))).WaitAsync(TestTimeout);

        Assert.All(results, r => Assert.Equal(RecipientOutcome.Delivered, r.Recipients[0].Outcome));
        Assert.Equal(12, (await sink.WaitForMessagesAsync(12, TestTimeout)).Count);
        Assert.InRange(sink.ConnectionCount, 1, 2);
        Assert.InRange(pool.OpenConnections(sink.EndPoint), 1, 2);
    }

    [Fact]
    public async Task IdleConnectionsAreClosedWithQuitAfterTheIdleTimeout()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.IdleTimeout = TimeSpan.FromMilliseconds(200);
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        await agent.DeliverAsync(Request("x\r\n"u8.ToArray(), ["a@dest.test"]), CancellationToken.None).WaitAsync(TestTimeout);

        var waited = Stopwatch.StartNew();
        while (!sink.Commands.Any(c => c.Line == "QUIT") && waited.Elapsed < TestTimeout)
        {
            await Task.Delay(50);
        }
        Assert.Contains(sink.Commands, c => c.Line == "QUIT");
        Assert.Equal(0, pool.OpenConnections(sink.EndPoint));
    }

    [Fact]
    public async Task DisposingThePoolSendsQuitToIdleConnections()
    {
        await using var sink = new LoopbackSmtpSink();
        var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);
        await agent.DeliverAsync(Request("x\r\n"u8.ToArray(), ["a@dest.test"]), CancellationToken.None).WaitAsync(TestTimeout);

        await pool.DisposeAsync().AsTask().WaitAsync(TestTimeout);

        var waited = Stopwatch.StartNew();
        while (!sink.Commands.Any(c => c.Line == "QUIT") && waited.Elapsed < TestTimeout)
        {
            await Task.Delay(50);
        }
        Assert.Contains(sink.Commands, c => c.Line == "QUIT");
    }

    [Fact]
    public async Task ALeaseWaitingForAFullHostCanBeCancelled()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.MaxConnectionsPerHost = 1;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());
        OutboundConnection held = await pool.LeaseAsync(sink.EndPoint, "mx1.test", null, CancellationToken.None).WaitAsync(TestTimeout);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pool.LeaseAsync(sink.EndPoint, "mx1.test", null, cancel.Token));

        Task<OutboundConnection> waiting = pool.LeaseAsync(sink.EndPoint, "mx1.test", null, CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        pool.Return(held);
        Assert.Same(held, await waiting.WaitAsync(TestTimeout));
        pool.Return(held);
        Assert.Equal(1, sink.ConnectionCount);
    }

    // Postfix's smtp-sink as an independent receiver. It does not offer CHUNKING, so this is the DATA path (dot-stuffing)
    // checked by a real MTA implementation.
    [Fact]
    public async Task DeliversToPostfixSmtpSink()
    {
        string? smtpSink = new[] { "/usr/sbin/smtp-sink", "/usr/libexec/postfix/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink" }
            .FirstOrDefault(File.Exists);
        if (smtpSink is null)
        {
            Console.WriteLine("SKIPPED DeliversToPostfixSmtpSink: Postfix's smtp-sink is not installed (Debian package postfix).");
            return;
        }
        IPEndPoint endPoint = LoopbackSmtpSink.UnusedEndPoint(IPAddress.Loopback);
        string dumpDirectory = Directory.CreateTempSubdirectory("fastmta-smtp-sink").FullName;
        var info = new ProcessStartInfo(smtpSink) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in new[] { "-u", "root", "-d", Path.Combine(dumpDirectory, "%H%M%S.%%"), $"{endPoint}", "10" })
        {
            info.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(info)!;
        try
        {
            await WaitForListenerAsync(endPoint);
            await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
            var agent = new SmtpDeliveryAgent(FixedResolver.For(endPoint), pool);
            byte[] body = TrickyBody();

            DeliveryResult result = await agent.DeliverAsync(Request(body, ["a@dest.test", "b@dest.test"]), CancellationToken.None)
                .WaitAsync(TestTimeout);

            Assert.All(result.Recipients, r =>
            {
                Assert.Equal(RecipientOutcome.Delivered, r.Outcome);
                Assert.Equal(250, r.ReplyCode);
            });
            // smtp-sink dumps each transaction (envelope lines, then the message as it unstuffed it).
            string dump = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(dumpDirectory)), System.Text.Encoding.Latin1);
            // Its line-end form differs from ours, so only the unstuffed lines are checked, not the exact bytes.
            Assert.Contains(new string('x', 10_000), dump, StringComparison.Ordinal);
            Assert.Contains(".leading dot", dump, StringComparison.Ordinal);
            Assert.DoesNotContain("..leading dot", dump, StringComparison.Ordinal);
            Assert.Contains("..two dots", dump, StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TestTimeout);
            Directory.Delete(dumpDirectory, recursive: true);
        }
    }

    private static async Task WaitForListenerAsync(IPEndPoint endPoint)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            using var probe = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await probe.ConnectAsync(endPoint);
                return;
            }
            catch (SocketException) when (waited.Elapsed < TestTimeout)
            {
                await Task.Delay(50);
            }
        }
    }
}
