using System.Buffers;

namespace FastMta.Smtp.Tests;

// The steady-state path must not allocate (an allocation budget enforced in CI). The BDN benchmarks measure
// this too; these tests keep it from regressing in every test run.
public sealed class ZeroAllocationTests
{
    private static readonly byte[] Batch =
        "EHLO client.example\r\nMAIL FROM:<a+b@c.example> SIZE=4821 BODY=8BITMIME SMTPUTF8\r\nRCPT TO:<d@[192.0.2.1]>\r\nRCPT TO:<\"e f\"@g.example>\r\nBDAT 100 LAST\r\nAUTH PLAIN AGFsaWNlAHB3\r\nDATA\r\n"u8.ToArray();

    // Assertions stay out of the measured loop (xunit's Assert.Equal allocates); the action reports success instead.
    private static long Measure(Func<bool> action)
    {
        Assert.True(action()); // JIT and first-call work out of the way
        Assert.True(action());
        bool ok = true;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            ok &= action();
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(ok);
        return allocated;
    }

    [Fact]
    public void FramingAndParsingAPipelinedBatchAllocatesNothing()
    {
        ReadOnlySequence<byte> sequence = TestSequence.SplitSequence(Batch, 7, 50, 51, 120);
        byte[] scratch = new byte[512];
        byte[] sasl = new byte[64];
        Assert.Equal(0, Measure(() => ParseAll(sequence, scratch, sasl)));
    }

    [Fact]
    public void DecodingStuffingAndCheckingDataAllocatesNothing()
    {
        byte[] wire = "Subject: x\r\n\r\n..dot\r\nline\r\n.\r\n"u8.ToArray();
        ReadOnlySequence<byte> sequence = TestSequence.SplitSequence(wire, 3, 17, 18, 30);
        var output = new ArrayBufferWriter<byte>(4096);
        Assert.Equal(0, Measure(() =>
        {
            output.ResetWrittenCount();
            var decoder = new DataDecoder(1 << 20);
            var reader = new SequenceReader<byte>(sequence);
            bool complete = decoder.Decode(ref reader, output) == DataStatus.Complete;
            output.ResetWrittenCount();
            var stuffer = new DotStuffer();
            stuffer.Write(".dot\r\nline\r\n"u8, output);
            int bare = stuffer.Complete(output);
            var lineEnds = new LineEndChecker();
            lineEnds.Check("a\r\nb\r"u8);
            lineEnds.Check("\n\r\n"u8);
            lineEnds.Complete();
            return complete && !decoder.SawBareCarriageReturn && bare == 0 && !lineEnds.SawBareLineEnd && output.WrittenCount == 16;
        }));
    }

    private static bool ParseAll(ReadOnlySequence<byte> sequence, byte[] scratch, byte[] sasl)
    {
        var framer = new CommandLineFramer(CommandLineFramer.DefaultMaxLength);
        var reader = new SequenceReader<byte>(sequence);
        int lines = 0;
        bool ok = true;
        while (framer.TryReadLine(ref reader, scratch, out ReadOnlySpan<byte> line) == LineStatus.Complete)
        {
            lines++;
            switch (CommandParser.ParseVerb(line, out ReadOnlySpan<byte> argument))
            {
                case SmtpVerb.Ehlo:
                    ok &= PathParser.TryParseHeloDomain(argument, out _);
                    break;
                case SmtpVerb.Mail:
                    ok &= PathParser.TryParseMailFrom(argument, out _) == PathStatus.Ok;
                    break;
                case SmtpVerb.Rcpt:
                    ok &= PathParser.TryParseRcptTo(argument, true, out _) == PathStatus.Ok;
                    break;
                case SmtpVerb.Bdat:
                    ok &= PathParser.TryParseBdat(argument, out _, out _);
                    break;
                case SmtpVerb.Auth:
                    ok &= SaslParser.TryParseAuth(argument, out _, out ReadOnlySpan<byte> initial)
                        && SaslParser.TryDecodeBase64(initial, sasl, out ReadOnlySpan<byte> decoded)
                        && SaslParser.TrySplitPlain(decoded, out _, out _, out _);
                    break;
            }
        }
        return ok && lines == 7;
    }
}
