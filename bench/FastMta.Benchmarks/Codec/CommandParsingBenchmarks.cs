using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastMta.Smtp;

namespace FastMta.Benchmarks.Codec;

// Codec micro-benchmark: frame and parse one pipelined client batch (RFC 2920), no I/O. Budget: 0 B allocated.
// Not sealed: BenchmarkDotNet derives from benchmark classes.
[MemoryDiagnoser]
public class CommandParsingBenchmarks
{
    private const int CommandsPerBatch = 6;

    private static readonly byte[] Batch =
        "EHLO mail-out.client.example\r\n"u8.ToArray()
        .Concat("MAIL FROM:<newsletter+bounce-1234@lists.client.example> SIZE=48213 BODY=8BITMIME\r\n"u8.ToArray())
        .Concat("RCPT TO:<alice@example.org>\r\n"u8.ToArray())
        .Concat("RCPT TO:<bob.smith@mail.example.net>\r\n"u8.ToArray())
        .Concat("RCPT TO:<\"carol jones\"@example.com>\r\n"u8.ToArray())
        .Concat("DATA\r\n"u8.ToArray())
        .ToArray();

    private readonly byte[] _scratch = new byte[CommandLineFramer.DefaultMaxLength];
    private ReadOnlySequence<byte> _singleSegment;
    private ReadOnlySequence<byte> _twoSegments;

    [GlobalSetup]
    public void Setup()
    {
        _singleSegment = new ReadOnlySequence<byte>(Batch);
        // The second RCPT straddles a segment boundary, as it would when a read ends mid-line.
        int split = Batch.AsSpan().IndexOf("bob"u8);
        _twoSegments = BenchSegment.Create(Batch[..split], Batch[split..]);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CommandsPerBatch)]
    public long FrameAndParseSingleSegment() => Run(_singleSegment);

    [Benchmark(OperationsPerInvoke = CommandsPerBatch)]
    public long FrameAndParseTwoSegments() => Run(_twoSegments);

    private long Run(in ReadOnlySequence<byte> batch)
    {
        var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
        var reader = new SequenceReader<byte>(batch);
        long checksum = 0;
        while (framer.TryReadLine(ref reader, _scratch, out ReadOnlySpan<byte> line) == LineStatus.Complete)
        {
            switch (CommandParser.ParseVerb(line, out ReadOnlySpan<byte> argument))
            {
                case SmtpVerb.Ehlo:
                    PathParser.TryParseHeloDomain(argument, out ReadOnlySpan<byte> domain);
                    checksum += domain.Length;
                    break;
                case SmtpVerb.Mail:
                    PathParser.TryParseMailFrom(argument, out MailFromCommand mail);
                    checksum += mail.DeclaredSize + mail.Address.Length;
                    break;
                case SmtpVerb.Rcpt:
                    PathParser.TryParseRcptTo(argument, false, out RcptToCommand rcpt);
                    checksum += rcpt.Domain.Length;
                    break;
                case SmtpVerb.Data:
                    checksum++;
                    break;
            }
        }
        return checksum;
    }
}
