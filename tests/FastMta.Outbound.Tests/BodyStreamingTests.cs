using System.Net;
using FastMta.Queue;
using FastMta.Spool;
using FastMta.Tests.Shared;
using static FastMta.Outbound.Tests.TestSupport;

namespace FastMta.Outbound.Tests;

// The body is read from the spool while it is sent. A body that cannot be read part-way must never reach the receiver
// as a complete (truncated) message: the connection is dropped in the middle of DATA/BDAT and the recipients deferred.
public sealed class BodyStreamingTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_that_fails_to_read_mid_transfer_drops_the_connection_and_defers_without_a_truncated_message(bool chunking)
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Chunking = chunking });
        await using var pool = new OutboundConnectionPool(Options(), TestMeters.Create());
        var agent = new SmtpDeliveryAgent(FixedResolver.For(sink.EndPoint), pool);
        DeliveryRequest plain = Request("x\r\n"u8.ToArray(), ["a@dest.test"]);
        using var failing = new FailingBody(pieces: 3, pieceLength: 100_000);
        var request = new DeliveryRequest
        {
            MessageId = plain.MessageId,
            Domain = plain.Domain,
            Sender = plain.Sender,
            Recipients = plain.Recipients,
            Body = failing,
            RequiresSmtpUtf8 = false,
            EightBitMime = false,
        };

        DeliveryResult result = await agent.DeliverAsync(request, CancellationToken.None).WaitAsync(TestTimeout);

        RecipientResult recipient = Assert.Single(result.Recipients);
        Assert.Equal(RecipientOutcome.Deferred, recipient.Outcome);
        Assert.Equal(451, recipient.ReplyCode);
        Assert.Equal("4.3.0", recipient.EnhancedStatus);
        Assert.Contains("could not be read from the spool", recipient.Response);
        Assert.True(failing.Reads >= 2, "the failure came after the first piece had been sent");

        // The next message goes over a new connection and arrives whole; the broken one delivered nothing.
        DeliveryResult next = await agent.DeliverAsync(Request("Subject: ok\r\n\r\nok\r\n"u8.ToArray(), ["b@dest.test"]), CancellationToken.None)
            .WaitAsync(TestTimeout);
        Assert.Equal(RecipientOutcome.Delivered, Assert.Single(next.Recipients).Outcome);
        SinkMessage arrived = Assert.Single(await sink.WaitForMessagesAsync(1, TestTimeout));
        Assert.Equal(["b@dest.test"], arrived.Recipients);
        Assert.Equal(2, sink.ConnectionCount);
    }

    // Claims pieces x pieceLength bytes and throws as a corrupt spool would when asked for the second-to-last piece.
    private sealed class FailingBody(int pieces, int pieceLength) : MessageBody
    {
        private readonly byte[] _piece = Enumerable.Repeat((byte)'x', pieceLength - 2).Concat("\r\n"u8.ToArray()).ToArray();

        public int Reads { get; private set; }

        public override long Length => (long)pieces * pieceLength;

        public override ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
        {
            Reads++;
            return Reads < pieces - 1
                ? ValueTask.FromResult<ReadOnlyMemory<byte>>(_piece)
                : throw new InvalidDataException("test: the body chunk is unreadable");
        }

        public override void Rewind() => Reads = 0;
    }
}
