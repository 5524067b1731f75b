using System.Buffers;
using System.Net;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Spool;

namespace FastMta.Outbound.Tests;

// A resolver that answers from a fixed table, so delivery is tested against loopback receivers without DNS.
internal sealed class FixedResolver(Destination destination) : IDestinationResolver
{
    public static FixedResolver For(params IPEndPoint[] hosts) => new(new Destination
    {
        Status = ResolutionStatus.Resolved,
        Hosts = hosts.Select((h, i) => new DestinationHost($"mx{i + 1}.test", h.Address, h.Port, 10 * (i + 1))).ToArray(),
        Site = "test",
    });

    public ValueTask<Destination> ResolveAsync(string domain, CancellationToken cancellationToken) => ValueTask.FromResult(destination);
}

internal sealed class Segment : ReadOnlySequenceSegment<byte>
{
    public Segment(ReadOnlyMemory<byte> memory, Segment? previous)
    {
        Memory = memory;
        if (previous is not null)
        {
            RunningIndex = previous.RunningIndex + previous.Memory.Length;
            previous.Next = this;
        }
    }
}

internal static class TestSupport
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(20);

    // Splits the body into segments of the given size, as spool reads hand it out (chained log buffers).
    public static ReadOnlySequence<byte> Segmented(byte[] body, int segmentSize)
    {
        if (body.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        Segment? first = null, last = null;
        for (int offset = 0; offset < body.Length; offset += segmentSize)
        {
            last = new Segment(body.AsMemory(offset, Math.Min(segmentSize, body.Length - offset)), last);
            first ??= last;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    public static DeliveryRequest Request(byte[] body, string[] recipients, bool smtpUtf8 = false, bool eightBit = false,
        string sender = "sender@origin.test", int segmentSize = 4096) => new()
        {
            MessageId = new SpoolMessageId(42),
            Domain = "dest.test",
            Sender = sender,
            Recipients = recipients,
            Body = MessageBody.FromSequence(Segmented(body, segmentSize)),
            RequiresSmtpUtf8 = smtpUtf8,
            EightBitMime = eightBit,
        };

    public static OutboundOptions Options(IPAddress? source = null) => new()
    {
        EhloName = "client.test",
        SourceAddress = source,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        GreetingTimeout = TimeSpan.FromSeconds(10),
        MailFromTimeout = TimeSpan.FromSeconds(10),
        RcptTimeout = TimeSpan.FromSeconds(10),
        DataInitTimeout = TimeSpan.FromSeconds(10),
        DataBlockTimeout = TimeSpan.FromSeconds(10),
        DataTerminationTimeout = TimeSpan.FromSeconds(10),
    };

    // A body with everything that breaks naive senders: lines that start with '.', a lone "." line, 8-bit bytes,
    // and a 10,000-byte line.
    public static byte[] TrickyBody()
    {
        var body = new List<byte>();
        body.AddRange("Subject: test\r\n\r\n.leading dot\r\n.\r\n..two dots\r\n"u8.ToArray());
        body.AddRange([0xC3, 0xA9, 0xFF, 0x80, (byte)'\r', (byte)'\n']);
        body.AddRange(Enumerable.Repeat((byte)'x', 10_000));
        body.AddRange("\r\n.\r\nend\r\n"u8.ToArray());
        return body.ToArray();
    }
}
