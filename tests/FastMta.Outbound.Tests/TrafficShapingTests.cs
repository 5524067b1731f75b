using System.Diagnostics;
using System.Net;
using FastMta.Queue;
using FastMta.Tests.Shared;
using static FastMta.Outbound.Tests.TestSupport;

namespace FastMta.Outbound.Tests;

// The per-request values traffic shaping sets (source address, EHLO name, messages per connection) against a real
// loopback receiver: they win over the options, and a request without them behaves as before.
public sealed class TrafficShapingTests
{
    private static readonly IPAddress SourceA = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress SourceB = IPAddress.Parse("127.0.0.3");

    private static DeliveryRequest Shaped(int i, IPAddress? source = null, string? ehloName = null, int? maxMessages = null)
    {
        DeliveryRequest plain = Request("x\r\n"u8.ToArray(), [$"r{i}@dest.test"]);
        return new DeliveryRequest
        {
            MessageId = plain.MessageId,
            Domain = plain.Domain,
            Sender = plain.Sender,
            Recipients = plain.Recipients,
            Body = plain.Body,
            RequiresSmtpUtf8 = false,
            EightBitMime = false,
            SourceAddress = source,
            EhloName = ehloName,
            MaxMessagesPerConnection = maxMessages,
        };
    }

    private static string EhloOf(LoopbackSmtpSink sink, int connection) =>
        sink.Commands.First(c => c.ConnectionNumber == connection && c.Line.StartsWith("EHLO ", StringComparison.Ordinal)).Line;

    private static async Task WaitForQuitsAsync(LoopbackSmtpSink sink, int count)
    {
        var waited = Stopwatch.StartNew();
        while (sink.Commands.Count(c => c.Line == "QUIT") < count && waited.Elapsed < TestTimeout)
        {
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task RequestSourceAndEhloNameWinAndEachGetsItsOwnConnection()
    {
        await using var sink = new LoopbackSmtpSink();
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        DeliveryResult a = await agent.DeliverAsync(Shaped(1, SourceA, "a.example"), CancellationToken.None).WaitAsync(TestTimeout);
        DeliveryResult b = await agent.DeliverAsync(Shaped(2, SourceB, "b.example"), CancellationToken.None).WaitAsync(TestTimeout);

        Assert.Equal(RecipientOutcome.Delivered, a.Recipients[0].Outcome);
        Assert.Equal(RecipientOutcome.Delivered, b.Recipients[0].Outcome);
        Assert.Equal("127.0.0.2", a.SourceAddress);
        Assert.Equal("127.0.0.3", b.SourceAddress);
        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(2, TestTimeout);
        Assert.Equal(2, sink.ConnectionCount);
        SinkMessage fromA = Assert.Single(messages, m => m.Recipients[0] == "r1@dest.test");
        SinkMessage fromB = Assert.Single(messages, m => m.Recipients[0] == "r2@dest.test");
        Assert.Equal(SourceA, fromA.Peer.Address);
        Assert.Equal(SourceB, fromB.Peer.Address);
        Assert.NotEqual(fromA.ConnectionNumber, fromB.ConnectionNumber);
        Assert.Equal("EHLO a.example", EhloOf(sink, fromA.ConnectionNumber));
        Assert.Equal("EHLO b.example", EhloOf(sink, fromB.ConnectionNumber));
        Assert.Equal(1, pool.OpenConnections(sink.EndPoint, SourceA, "a.example"));
        Assert.Equal(1, pool.OpenConnections(sink.EndPoint, SourceB, "b.example"));
    }

    [Fact]
    public async Task AConnectionIsNotReusedUnderAnotherEhloName()
    {
        await using var sink = new LoopbackSmtpSink();
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        await agent.DeliverAsync(Shaped(1, SourceA, "a.example"), CancellationToken.None).WaitAsync(TestTimeout);
        await agent.DeliverAsync(Shaped(2, SourceA, "c.example"), CancellationToken.None).WaitAsync(TestTimeout);
        await agent.DeliverAsync(Shaped(3, SourceA, "a.example"), CancellationToken.None).WaitAsync(TestTimeout);

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(3, TestTimeout);
        Assert.Equal(2, sink.ConnectionCount);
        Assert.Equal(messages[0].ConnectionNumber, messages[2].ConnectionNumber);
        Assert.Equal("EHLO c.example", EhloOf(sink, messages[1].ConnectionNumber));
        Assert.All(messages, m => Assert.Equal(SourceA, m.Peer.Address));
    }

    [Fact]
    public async Task MaxMessagesPerConnectionFromTheRequestClosesConnectionsWithQuit()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.MessagesPerConnection = 100;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        for (int i = 0; i < 5; i++)
        {
            DeliveryResult result = await agent.DeliverAsync(Shaped(i, maxMessages: 2), CancellationToken.None).WaitAsync(TestTimeout);
            Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        }

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(5, TestTimeout);
        Assert.Equal(3, sink.ConnectionCount);
        Assert.Equal([2, 2, 1], messages.GroupBy(m => m.ConnectionNumber).OrderBy(g => g.Key).Select(g => g.Count()));
        await WaitForQuitsAsync(sink, 2);
        Assert.Equal(2, sink.Commands.Count(c => c.Line == "QUIT"));
        Assert.Equal(1, pool.OpenConnections(sink.EndPoint));
    }

    [Fact]
    public async Task AnIdleConnectionOverALowerRequestLimitIsClosedNotReused()
    {
        await using var sink = new LoopbackSmtpSink();
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        await agent.DeliverAsync(Shaped(1), CancellationToken.None).WaitAsync(TestTimeout);
        await agent.DeliverAsync(Shaped(2), CancellationToken.None).WaitAsync(TestTimeout);
        await agent.DeliverAsync(Shaped(3, maxMessages: 2), CancellationToken.None).WaitAsync(TestTimeout);

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(3, TestTimeout);
        Assert.Equal(2, sink.ConnectionCount);
        Assert.Equal(messages[0].ConnectionNumber, messages[1].ConnectionNumber);
        Assert.NotEqual(messages[1].ConnectionNumber, messages[2].ConnectionNumber);
        await WaitForQuitsAsync(sink, 1);
        Assert.Contains(sink.Commands, c => c.ConnectionNumber == messages[0].ConnectionNumber && c.Line == "QUIT");
    }

    [Fact]
    public async Task ARequestWithoutShapingUsesTheOptions()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.MessagesPerConnection = 2;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        for (int i = 0; i < 5; i++)
        {
            DeliveryResult result = await agent.DeliverAsync(Shaped(i), CancellationToken.None).WaitAsync(TestTimeout);
            Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
            Assert.Equal("127.0.0.1", result.SourceAddress);
        }

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(5, TestTimeout);
        Assert.Equal(3, sink.ConnectionCount);
        Assert.All(messages, m => Assert.Equal("EHLO client.test", EhloOf(sink, m.ConnectionNumber)));
        Assert.All(messages, m => Assert.Equal(IPAddress.Loopback, m.Peer.Address));
        Assert.Equal(1, pool.OpenConnections(sink.EndPoint));
    }

    [Fact]
    public async Task RequestLimitAboveTheOptionsAllowsMoreReuse()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options(SourceB);
        options.MessagesPerConnection = 1;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);

        for (int i = 0; i < 3; i++)
        {
            await agent.DeliverAsync(Shaped(i, maxMessages: 3), CancellationToken.None).WaitAsync(TestTimeout);
        }

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(3, TestTimeout);
        Assert.Equal(1, sink.ConnectionCount);
        Assert.All(messages, m => Assert.Equal(SourceB, m.Peer.Address)); // the options' source when the request has none
    }
}
