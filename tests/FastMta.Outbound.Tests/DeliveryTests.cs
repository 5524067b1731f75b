using System.Net;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Tests.Shared;
using static FastMta.Outbound.Tests.TestSupport;

namespace FastMta.Outbound.Tests;

public sealed class DeliveryTests
{
    private static async Task<DeliveryResult> DeliverAsync(OutboundConnectionPool pool, IPEndPoint[] hosts, DeliveryRequest request)
    {
        var agent = new SmtpDeliveryAgent(FixedResolver.For(hosts), pool);
        return await agent.DeliverAsync(request, CancellationToken.None).WaitAsync(TestTimeout);
    }

    [Theory]
    [InlineData(true, 4096)]
    [InlineData(false, 4096)]
    [InlineData(true, 7)]
    [InlineData(false, 7)]
    public async Task BodyArrivesByteIdentical(bool chunking, int segmentSize)
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Chunking = chunking });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        byte[] body = TrickyBody();

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request(body, ["a@dest.test", "b@dest.test"], segmentSize: segmentSize));

        Assert.All(result.Recipients, r => Assert.Equal(RecipientOutcome.Delivered, r.Outcome));
        Assert.Equal(250, result.Recipients[0].ReplyCode);
        SinkMessage message = Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout));
        Assert.Equal(body, message.Data);
        Assert.Equal(chunking, message.ViaBdat);
        Assert.Equal("sender@origin.test", message.Sender);
        Assert.Equal(["a@dest.test", "b@dest.test"], message.Recipients);
        Assert.Equal("mx1.test", result.RemoteHost);
        Assert.Equal(sink.EndPoint.ToString(), result.RemoteAddress);
    }

    [Fact]
    public async Task LargeBodyGoesOutInSeveralBdatChunks()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.BdatChunkSize = 1000;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());
        byte[] body = TrickyBody();

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request(body, ["a@dest.test"]));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        Assert.Equal(body, Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout)).Data);
        Assert.Equal(body.Length / 1000 + 1, sink.Commands.Count(c => c.Line.StartsWith("BDAT", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DataBodyWithoutFinalCrlfGetsOneBeforeTheTerminator()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Chunking = false });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request("Subject: x\r\n\r\n.no end"u8.ToArray(), ["a@dest.test"]));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        Assert.Equal("Subject: x\r\n\r\n.no end\r\n"u8.ToArray(), Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout)).Data);
    }

    // A body with bare CR or LF can only come from an older spool (they are refused on the way in). Over DATA each one
    // goes out as CRLF, so no receiver sees an end of data early and the dot after one survives; it is counted.
    [Theory]
    [InlineData(4096)]
    [InlineData(1)]
    public async Task DataBodyWithBareLineEndsFromAnOlderSpoolGoesOutWithEachAsCrlf(int segmentSize)
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Chunking = false });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        long rewritten = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OutboundMetrics.MeterName && instrument.Name == "fastmta.outbound.bare_line_end_bodies")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref rewritten, value));
        listener.Start();
        byte[] body = "Subject: old\r\n\r\na\n.b\r\nc\r.\r\nMAIL FROM:<x@y>\r\nd\r"u8.ToArray();

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request(body, ["a@dest.test"], segmentSize: segmentSize));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        SinkMessage message = Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout));
        Assert.Equal("Subject: old\r\n\r\na\r\n.b\r\nc\r\n.\r\nMAIL FROM:<x@y>\r\nd\r\n"u8.ToArray(), message.Data);
        Assert.True(Interlocked.Read(ref rewritten) >= 1); // other tests' deliveries only add to it
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MailRcptAndDataArePipelinedOnlyWhenOffered(bool pipelining)
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Pipelining = pipelining, Chunking = false });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["a@dest.test", "b@dest.test"]));

        SinkCommand[] transaction = sink.Commands.Where(c => c.Line[..4] is "MAIL" or "RCPT" or "DATA").ToArray();
        Assert.Equal(4, transaction.Length);
        int distinctReads = transaction.Select(c => c.ReadNumber).Distinct().Count();
        Assert.Equal(pipelining ? 1 : 4, distinctReads);
    }

    [Fact]
    public async Task RecipientRepliesAreMappedOneByOne()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            RcptReply = r => r.Address switch
            {
                "later@dest.test" => "451 4.3.0 try later",
                "nobody@dest.test" => "550 5.1.1 no such user",
                "plain@dest.test" => "552 mailbox full",
                _ => null,
            },
        });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint],
            Request("x\r\n"u8.ToArray(), ["ok@dest.test", "later@dest.test", "nobody@dest.test", "plain@dest.test"]));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        Assert.Equal(new RecipientResult(RecipientOutcome.Deferred, 451, "4.3.0", "4.3.0 try later"), result.Recipients[1]);
        Assert.Equal(new RecipientResult(RecipientOutcome.Failed, 550, "5.1.1", "5.1.1 no such user"), result.Recipients[2]);
        Assert.Equal(new RecipientResult(RecipientOutcome.Failed, 552, "5.0.0", "mailbox full"), result.Recipients[3]);
        Assert.Equal(["ok@dest.test"], Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout)).Recipients);
    }

    [Fact]
    public async Task AllRecipientsRejectedSendsRsetAndKeepsTheConnection()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            Chunking = false,
            RcptReply = r => r.Address.StartsWith("bad", StringComparison.Ordinal) ? "550 5.1.1 no" : null,
        });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult first = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["bad1@dest.test", "bad2@dest.test"]));
        DeliveryResult second = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["good@dest.test"]));

        Assert.All(first.Recipients, r => Assert.Equal(RecipientOutcome.Failed, r.Outcome));
        Assert.Equal(RecipientOutcome.Delivered, second.Recipients[0].Outcome);
        Assert.Contains(sink.Commands, c => c.Line == "RSET");
        Assert.Equal(1, sink.ConnectionCount);
    }

    [Fact]
    public async Task A421DefersTheRestAndTheConnectionIsNotReused()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            RcptReply = r => r.Address == "second@dest.test" && r.PreviousAttempts == 0 ? "421 4.7.0 closing" : null,
        });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["first@dest.test", "second@dest.test"]));
        DeliveryResult retry = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["second@dest.test"]));

        Assert.All(result.Recipients, r =>
        {
            Assert.Equal(RecipientOutcome.Deferred, r.Outcome);
            Assert.Equal(421, r.ReplyCode);
            Assert.Equal("4.7.0", r.EnhancedStatus);
        });
        Assert.Equal(RecipientOutcome.Delivered, retry.Recipients[0].Outcome);
        Assert.Equal(2, sink.ConnectionCount);
    }

    [Fact]
    public async Task RefusedFirstHostFallsBackToTheNext()
    {
        await using var sink = new LoopbackSmtpSink();
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        IPEndPoint refused = LoopbackSmtpSink.UnusedEndPoint(IPAddress.Loopback);

        DeliveryResult result = await DeliverAsync(pool, [refused, sink.EndPoint], Request("x\r\n"u8.ToArray(), ["a@dest.test"]));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        Assert.Equal("mx2.test", result.RemoteHost);
        Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout));
    }

    [Fact]
    public async Task GreetingRejectionFallsBackToTheNextHost()
    {
        await using var busy = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { GreetingRejection = "421 4.3.2 busy" });
        await using var sink = new LoopbackSmtpSink();
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [busy.EndPoint, sink.EndPoint], Request("x\r\n"u8.ToArray(), ["a@dest.test"]));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        Assert.Equal(1, busy.ConnectionCount);
    }

    [Fact]
    public async Task AllHostsFailingDefersWithTheLastError()
    {
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        IPEndPoint[] hosts = [LoopbackSmtpSink.UnusedEndPoint(IPAddress.Loopback), LoopbackSmtpSink.UnusedEndPoint(IPAddress.Loopback)];

        DeliveryResult result = await DeliverAsync(pool, hosts, Request("x\r\n"u8.ToArray(), ["a@dest.test", "b@dest.test"]));

        Assert.All(result.Recipients, r =>
        {
            Assert.Equal(RecipientOutcome.Deferred, r.Outcome);
            Assert.Equal("4.4.1", r.EnhancedStatus);
            Assert.Contains(hosts[1].ToString(), r.Response, StringComparison.Ordinal);
        });
        Assert.Null(result.RemoteAddress);
    }

    [Fact]
    public async Task ConnectionsAreBoundToTheSourceAddress()
    {
        await using var sink = new LoopbackSmtpSink();
        await using var pool = new OutboundConnectionPool(Options(IPAddress.Parse("127.0.0.2")), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["a@dest.test"]));

        Assert.Equal(IPAddress.Parse("127.0.0.2"), Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout)).Peer.Address);
        Assert.Equal("127.0.0.2", result.SourceAddress);
    }

    [Theory]
    [InlineData(100, 10, 1)]
    [InlineData(3, 10, 4)]
    public async Task ConnectionsAreReusedUpToMessagesPerConnection(int perConnection, int messages, int expectedConnections)
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.MessagesPerConnection = perConnection;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());

        for (int i = 0; i < messages; i++)
        {
            DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), [$"r{i}@dest.test"]));
            Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        }

        Assert.Equal(messages, (await sink.WaitForMessagesAsync(messages, TestTimeout)).Count);
        Assert.Equal(expectedConnections, sink.ConnectionCount);
        Assert.All(sink.Messages.GroupBy(m => m.ConnectionNumber), g => Assert.True(g.Count() <= perConnection));
    }

    [Fact]
    public async Task SmtpUtf8MessageToAServerWithoutItFailsWithoutSending()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { SmtpUtf8 = false });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["jürgen@dest.test"], smtpUtf8: true));

        RecipientResult recipient = Assert.Single(result.Recipients);
        Assert.Equal(RecipientOutcome.Failed, recipient.Outcome);
        Assert.Equal("5.6.7", recipient.EnhancedStatus);
        Assert.DoesNotContain(sink.Commands, c => c.Line.StartsWith("MAIL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SmtpUtf8AndEightBitMimeAreDeclaredWhenOffered()
    {
        await using var sink = new LoopbackSmtpSink();
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint],
            Request("x\r\n"u8.ToArray(), ["jürgen@dest.test"], smtpUtf8: true, eightBit: true, sender: "ö@origin.test"));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        SinkMessage message = Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout));
        Assert.Equal("ö@origin.test", message.Sender);
        Assert.Equal(["jürgen@dest.test"], message.Recipients);
        Assert.Equal("BODY=8BITMIME SMTPUTF8", message.MailParameters);
    }

    [Fact]
    public async Task BodyOverTheAdvertisedSizeFailsWithoutSending()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Size = 100 });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request(new byte[101], ["a@dest.test"]));
        DeliveryResult small = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["a@dest.test"]));

        Assert.Equal(RecipientOutcome.Failed, result.Recipients[0].Outcome);
        Assert.Equal("5.3.4", result.Recipients[0].EnhancedStatus);
        Assert.Equal(RecipientOutcome.Delivered, small.Recipients[0].Outcome);
        Assert.Equal("SIZE=3", Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout)).MailParameters);
    }

    [Fact]
    public async Task EndOfDataRejectionAppliesToAcceptedRecipients()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            RcptReply = r => r.Address == "no@dest.test" ? "550 5.1.1 no" : null,
            DataReply = _ => "554 5.7.1 spam",
        });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["a@dest.test", "no@dest.test"]));

        Assert.Equal(new RecipientResult(RecipientOutcome.Failed, 554, "5.7.1", "5.7.1 spam"), result.Recipients[0]);
        Assert.Equal("5.1.1", result.Recipients[1].EnhancedStatus);
    }

    [Fact]
    public async Task HeloIsUsedWhenEhloIsRefused()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { RejectEhlo = true });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        byte[] body = TrickyBody();

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request(body, ["a@dest.test"]));

        Assert.Equal(RecipientOutcome.Delivered, result.Recipients[0].Outcome);
        SinkMessage message = Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout));
        Assert.False(message.ViaBdat);
        Assert.Equal(body, message.Data);
        Assert.Contains(sink.Commands, c => c.Line == "HELO client.test");
    }

    [Fact]
    public async Task RequiredTlsWithoutStartTlsDefers()
    {
        await using var sink = new LoopbackSmtpSink();
        OutboundOptions options = Options();
        options.Tls = OutboundTlsMode.Required;
        await using var pool = new OutboundConnectionPool(options, TestMeters.Create());

        DeliveryResult result = await DeliverAsync(pool, [sink.EndPoint], Request("x\r\n"u8.ToArray(), ["a@dest.test"]));

        Assert.Equal(RecipientOutcome.Deferred, result.Recipients[0].Outcome);
        Assert.StartsWith("4.7.", result.Recipients[0].EnhancedStatus, StringComparison.Ordinal);
        Assert.Empty(sink.Messages);
    }

    [Theory]
    [InlineData(ResolutionStatus.PermanentFailure, RecipientOutcome.Failed, 550, "5.1.10")]
    [InlineData(ResolutionStatus.TemporaryFailure, RecipientOutcome.Deferred, 451, "4.4.3")]
    public async Task ResolutionFailuresSettleEveryRecipient(ResolutionStatus status, RecipientOutcome outcome, int code, string enhanced)
    {
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        var resolver = new FixedResolver(new Destination { Status = status, EnhancedStatus = enhanced, Detail = "no way" });
        var agent = new SmtpDeliveryAgent(resolver, pool);

        DeliveryResult result = await agent.DeliverAsync(Request("x\r\n"u8.ToArray(), ["a@dest.test", "b@dest.test"]), CancellationToken.None)
            .WaitAsync(TestTimeout);

        Assert.All(result.Recipients, r => Assert.Equal(new RecipientResult(outcome, code, enhanced, "no way"), r));
    }
}
