using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastMta.Smtp;

namespace FastMta.Benchmarks.Codec;

// Codec micro-benchmark: decode a dot-stuffed DATA body from 4 KiB segments (the shape a Pipe hands out) into a
// reused writer, no I/O. Budget: 0 B allocated per message.
[MemoryDiagnoser]
public class DataDecoderBenchmarks
{
    private const int SegmentSize = 4096;

    private ReadOnlySequence<byte> _wire;
    private ArrayBufferWriter<byte> _output = null!;

    [Params(10 * 1024, 100 * 1024)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Text lines of 20-76 octets; about one in 25 starts with a dot, so unstuffing is exercised.
        var random = new Random(5321);
        var body = new ArrayBufferWriter<byte>(BodyBytes + 256);
        while (body.WrittenCount < BodyBytes)
        {
            Span<byte> line = body.GetSpan(80);
            int length = random.Next(20, 77);
            for (int i = 0; i < length; i++)
            {
                line[i] = (byte)(' ' + random.Next(95));
            }
            if (random.Next(25) == 0)
            {
                line[0] = (byte)'.';
            }
            line[length] = (byte)'\r';
            line[length + 1] = (byte)'\n';
            body.Advance(length + 2);
        }

        var wire = new ArrayBufferWriter<byte>();
        var stuffer = new DotStuffer();
        stuffer.Write(body.WrittenSpan, wire);
        stuffer.Complete(wire);
        _wire = BenchSegment.Create(wire.WrittenSpan.ToArray().Chunk(SegmentSize).ToArray());
        _output = new ArrayBufferWriter<byte>(BodyBytes + 256);
    }

    [Benchmark]
    public long Decode()
    {
        _output.ResetWrittenCount();
        var decoder = new DataDecoder(long.MaxValue);
        var reader = new SequenceReader<byte>(_wire);
        decoder.Decode(ref reader, _output);
        return decoder.BodyBytes;
    }
}
