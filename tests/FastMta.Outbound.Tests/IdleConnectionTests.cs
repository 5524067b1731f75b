using System.Diagnostics;
using System.Net;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Shaping;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using static FastMta.Outbound.Tests.TestSupport;

namespace FastMta.Outbound.Tests;

// What the agent and the pool tell traffic shaping about idle connections (IIdleConnections), against a real DNS
// server and SMTP receiver on loopback. The shaper asks under the queue's lock, so the answer must come from state
// already at hand: the resolver's cache and what the pool publishes.
public sealed class IdleConnectionTests
{
    private static readonly EgressSource DefaultSource = new() { Name = EgressSource.DefaultName };

    private static DestinationResolver Resolver(LoopbackDnsServer dns, LoopbackSmtpSink sink) =>
        new(new DnsOptions { Servers = [dns.ServerSpec], Timeout = TimeSpan.FromSeconds(2), Retries = 0 }, new Dictionary<string, string>(),
            sink.EndPoint.Port, TimeProvider.System, NullLogger<DestinationResolver>.Instance);

    [Fact]
    public async Task TheAgentAnswersFromTheResolverCacheAndNeverStartsALookup()
    {
        await using var sink = new LoopbackSmtpSink();
        await using var dns = new LoopbackDnsServer();
        dns.AddMx("dest.test", 10, "mx1.dest.test");
        dns.AddA("mx1.dest.test", IPAddress.Loopback);
        await using var pool = new OutboundConnectionPool(Options());
        var agent = new SmtpDeliveryAgent(Resolver(dns, sink), pool);

        // Nothing resolved yet: no idle connection can exist, and asking must not send a query (it would be I/O started
        // under the queue's lock).
        Assert.False(agent.HasIdleConnection(DefaultSource, "dest.test"));
        await Task.Delay(300);
        Assert.Equal(0, dns.QueryCount("dest.test"));

        DeliveryResult result = await agent.DeliverAsync(Request("x\r\n"u8.ToArray(), ["a@dest.test"]), CancellationToken.None)
            .WaitAsync(TestTimeout);
        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        int queries = dns.QueryCount("dest.test");

        // The resolution is cached and the connection is back in the pool, idle.
        Assert.True(agent.HasIdleConnection(DefaultSource, "dest.test"));
        Assert.False(agent.HasIdleConnection(new EgressSource { Name = "other", EhloName = "other.test" }, "dest.test"));
        Assert.False(agent.HasIdleConnection(DefaultSource, "elsewhere.test"));
        await Task.Delay(300);
        Assert.Equal(queries, dns.QueryCount("dest.test"));
        Assert.Equal(0, dns.QueryCount("elsewhere.test"));
    }

    [Fact]
    public async Task ThePoolPublishesIdleOnlyBetweenReturnAndReuseOrTheIdleTimeout()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.IdleTimeout = TimeSpan.FromMilliseconds(400);
        await using var pool = new OutboundConnectionPool(options);
        Assert.False(pool.HasIdle(sink.EndPoint, null, null));

        OutboundConnection connection = await pool.LeaseAsync(sink.EndPoint, "mx1.test", null, CancellationToken.None).WaitAsync(TestTimeout);
        Assert.False(pool.HasIdle(sink.EndPoint, null, null)); // leased: in use, not idle
        pool.Return(connection);
        Assert.True(pool.HasIdle(sink.EndPoint, null, null));
        Assert.False(pool.HasIdle(sink.EndPoint, null, "another.ehlo")); // the EHLO name belongs to the session

        OutboundConnection again = await pool.LeaseAsync(sink.EndPoint, "mx1.test", null, CancellationToken.None).WaitAsync(TestTimeout);
        Assert.Same(connection, again);
        Assert.False(pool.HasIdle(sink.EndPoint, null, null));
        pool.Return(again);

        var waited = Stopwatch.StartNew();
        while (pool.HasIdle(sink.EndPoint, null, null) && waited.Elapsed < TestTimeout)
        {
            await Task.Delay(50);
        }

        Assert.True(waited.Elapsed >= TimeSpan.FromMilliseconds(300), $"idle for {waited.Elapsed.TotalMilliseconds} ms only");
        Assert.False(pool.HasIdle(sink.EndPoint, null, null));
    }
}
