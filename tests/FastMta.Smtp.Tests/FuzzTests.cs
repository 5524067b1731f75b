using System.Buffers;

namespace FastMta.Smtp.Tests;

// Seeded garbage through every entry point: nothing throws, every call makes progress, loops are bounded.
public sealed class FuzzTests
{
    private static byte[] Garbage(Random random, int length)
    {
        // Biased towards the bytes the codec cares about, so interesting states are actually reached.
        byte[] interesting = ".\r\n\r\n <>@:\"\\=\0 AMILFROTmailfrom"u8.ToArray();
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = random.Next(3) == 0 ? (byte)random.Next(256) : interesting[random.Next(interesting.Length)];
        }
        return data;
    }

    private static byte[][] RandomSplits(Random random, byte[] data)
    {
        var cuts = Enumerable.Range(0, random.Next(6)).Select(_ => random.Next(data.Length + 1)).Order().ToArray();
        return TestSequence.Split(data, cuts);
    }

    [Fact]
    public void RandomInputThroughFramerAndParsersNeverThrowsAndAlwaysProgresses()
    {
        var random = new Random(40961);
        byte[] scratch = new byte[64];
        Span<byte> sasl = stackalloc byte[256];
        for (int round = 0; round < 3000; round++)
        {
            byte[] data = Garbage(random, random.Next(1, 300));
            var framer = new CommandLineFramer(64);
            var reader = new SequenceReader<byte>(TestSequence.Create(RandomSplits(random, data)));
            int iterations = 0;
            while (true)
            {
                Assert.True(++iterations <= data.Length + 1, "framer made no progress");
                long before = reader.Consumed;
                LineStatus status = framer.TryReadLine(ref reader, scratch, out ReadOnlySpan<byte> line);
                if (status == LineStatus.Incomplete)
                {
                    Assert.True(reader.Remaining < framer.MaxLength);
                    break;
                }
                Assert.True(reader.Consumed > before);
                Assert.True(line.Length <= framer.MaxLength - 2);

                SmtpVerb verb = CommandParser.ParseVerb(line, out ReadOnlySpan<byte> argument);
                ReadOnlySpan<byte> text = verb == SmtpVerb.Unknown ? line : argument;
                PathParser.TryParseMailFrom(text, out _);
                PathParser.TryParseRcptTo(text, random.Next(2) == 0, out _);
                PathParser.TryParseHeloDomain(text, out _);
                PathParser.TryParseBdat(text, out _, out _);
                if (SaslParser.TryParseAuth(text, out _, out ReadOnlySpan<byte> initial)
                    && SaslParser.TryDecodeBase64(initial, sasl, out ReadOnlySpan<byte> decoded))
                {
                    SaslParser.TrySplitPlain(decoded, out _, out _, out _);
                }
            }
        }
    }

    [Fact]
    public void RandomInputThroughTheDataDecoderNeverThrowsAndAlwaysProgresses()
    {
        var random = new Random(51764);
        var output = new ArrayBufferWriter<byte>();
        for (int round = 0; round < 3000; round++)
        {
            byte[] data = Garbage(random, random.Next(1, 400));
            var decoder = new DataDecoder(random.Next(0, 500));
            output.ResetWrittenCount();
            int offset = 0;
            foreach (byte[] chunk in RandomSplits(random, data))
            {
                var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(chunk));
                DataStatus status = decoder.Decode(ref reader, output);
                offset += (int)reader.Consumed;
                if (status == DataStatus.Complete)
                {
                    Assert.True(offset >= 3);
                    break;
                }
                Assert.True(reader.End);
            }
            Assert.True(output.WrittenCount <= decoder.BodyBytes);
            Assert.True(decoder.BodyBytes <= offset);
        }
    }

    [Fact]
    public void RandomInputFramesTheSameWhateverTheArrivalPattern()
    {
        var random = new Random(2920);
        for (int round = 0; round < 1000; round++)
        {
            byte[] data = Garbage(random, random.Next(1, 300));
            var expected = FramerDriver.Run([data], maxLength: 64);
            Assert.Equal(expected, FramerDriver.Run(RandomSplits(random, data), maxLength: 64));
            Assert.Equal(expected, FramerDriver.Run(data.Chunk(random.Next(1, 8)).ToArray(), maxLength: 64));
        }
    }

    [Fact]
    public void RandomInputDecodesTheSameWhateverTheArrivalPattern()
    {
        var random = new Random(4552);
        for (int round = 0; round < 2000; round++)
        {
            byte[] data = Garbage(random, random.Next(1, 300));
            long max = random.Next(0, 300);
            DataResult expected = DataDriver.Segments([data], max);
            byte[][] parts = RandomSplits(random, data);
            Assert.Equal(expected, DataDriver.Segments(parts, max));
            Assert.Equal(expected, DataDriver.Arrivals(parts, max));
        }
    }
}
