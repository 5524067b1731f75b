using System.Buffers;

namespace FastMta.Smtp.Tests;

internal readonly record struct DataResult(DataStatus Status, string Content, long BodyBytes, bool TooLarge, bool SawBareLineFeed, bool SawBareCarriageReturn, string Rest);

// Feeds DATA bytes to a DataDecoder the way the session does: each arrival is a new buffer and everything the
// decoder looked at is consumed, so nothing is ever fed twice.
internal static class DataDriver
{
    // Every chunk is a separate arrival.
    public static DataResult Arrivals(byte[][] chunks, long max = long.MaxValue)
    {
        var decoder = new DataDecoder(max);
        var output = new ArrayBufferWriter<byte>();
        for (int i = 0; i < chunks.Length; i++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(chunks[i]));
            if (decoder.Decode(ref reader, output) == DataStatus.Complete)
            {
                byte[] rest = [.. reader.UnreadSequence.ToArray(), .. chunks[(i + 1)..].SelectMany(c => c)];
                return Result(DataStatus.Complete, decoder, output, rest);
            }
            Assert.True(reader.End, "NeedMoreData must consume everything");
        }
        return Result(DataStatus.NeedMoreData, decoder, output, []);
    }

    // All chunks at once, as one multi-segment sequence.
    public static DataResult Segments(byte[][] chunks, long max = long.MaxValue)
    {
        var decoder = new DataDecoder(max);
        var output = new ArrayBufferWriter<byte>();
        var reader = new SequenceReader<byte>(TestSequence.Create(chunks));
        DataStatus status = decoder.Decode(ref reader, output);
        if (status == DataStatus.NeedMoreData)
        {
            Assert.True(reader.End, "NeedMoreData must consume everything");
        }
        return Result(status, decoder, output, reader.UnreadSequence.ToArray());
    }

    private static DataResult Result(DataStatus status, DataDecoder decoder, ArrayBufferWriter<byte> output, byte[] rest) =>
        new(status, TestSequence.Text(output.WrittenSpan), decoder.BodyBytes, decoder.TooLarge, decoder.SawBareLineFeed,
            decoder.SawBareCarriageReturn, TestSequence.Text(rest));
}
