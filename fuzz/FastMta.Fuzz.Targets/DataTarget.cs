using System.Buffers;
using FastMta.Smtp;

namespace FastMta.Fuzz;

// DataDecoder, and DotStuffer as its inverse. Parameter: the size limit (value x 8 octets; 255: none).
// Invariants for any input, whatever bytes it holds: NeedMoreData consumes everything; the result (status, octets
// consumed, content, counts, flags) is the same whole, split in two, and in small arrivals; content written never
// exceeds the limit or the body count, and the body count never exceeds what was consumed; Complete comes exactly at
// the first CRLF "." CRLF (the start counting as after a CRLF), never elsewhere; a decoder Reset after a message
// decodes the rest as a fresh one would. Where the input has no bare CR or LF, the content is also checked against a
// reference un-stuffing, and dot-stuffing it (DotStuffer, split at the same point) decodes back to itself. Which
// bare-CR/LF inputs are accepted is the session's policy and is not checked here.
internal static class DataTarget
{
    private static ReadOnlySpan<byte> Terminator => "\r\n.\r\n"u8;

    private readonly record struct Result(DataStatus Status, long Consumed, string Content, long BodyBytes, bool TooLarge, bool SawBareLineFeed);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var fuzz = new FuzzInput(input);
        long max = fuzz.Parameter == 255 ? long.MaxValue : fuzz.Parameter * 8L;
        ReadOnlySpan<byte> payload = fuzz.Payload;
        Result? whole = null;
        foreach (byte[][] arrivals in fuzz.Patterns())
        {
            Same(ref whole, Arrivals(arrivals, max), "arrivals");
            Same(ref whole, Segments(arrivals, max), "segments");
        }

        Result result = whole!.Value;
        CheckBounds(result, max);
        CheckTerminator(payload, result);
        if (IsClean(payload[..(int)result.Consumed]))
        {
            CheckContent(payload, result, max);
        }

        if (result.Status == DataStatus.Complete)
        {
            CheckReset(payload, result, max);
        }

        if (IsClean(payload) && (payload.IsEmpty || payload[^1] != (byte)'\r'))
        {
            CheckRoundTrip(payload, fuzz.Split);
        }
    }

    private static Result Arrivals(byte[][] arrivals, long max)
    {
        var decoder = new DataDecoder(max);
        var output = new ArrayBufferWriter<byte>();
        long consumed = 0;
        foreach (byte[] arrival in arrivals)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(arrival));
            DataStatus status = decoder.Decode(ref reader, output);
            consumed += reader.Consumed;
            if (status == DataStatus.Complete)
            {
                return Make(status, consumed, decoder, output);
            }

            FuzzInvariantException.Check(reader.End, "NeedMoreData left input unconsumed");
        }

        return Make(DataStatus.NeedMoreData, consumed, decoder, output);
    }

    private static Result Segments(byte[][] parts, long max)
    {
        var decoder = new DataDecoder(max);
        var output = new ArrayBufferWriter<byte>();
        var reader = new SequenceReader<byte>(FuzzSequence.Create(parts));
        DataStatus status = decoder.Decode(ref reader, output);
        FuzzInvariantException.Check(status == DataStatus.Complete || reader.End, "NeedMoreData left input unconsumed");
        return Make(status, reader.Consumed, decoder, output);
    }

    private static Result Make(DataStatus status, long consumed, DataDecoder decoder, ArrayBufferWriter<byte> output) =>
        new(status, consumed, Convert.ToHexString(output.WrittenSpan), decoder.BodyBytes, decoder.TooLarge, decoder.SawBareLineFeed);

    private static void CheckBounds(Result result, long max)
    {
        long written = result.Content.Length / 2;
        FuzzInvariantException.Check(written <= max, "content written beyond the size limit");
        FuzzInvariantException.Check(written <= result.BodyBytes, "content written beyond the body count");
        FuzzInvariantException.Check(result.BodyBytes <= result.Consumed, "body count beyond the octets consumed");
        FuzzInvariantException.Check(result.TooLarge == result.BodyBytes > max, "TooLarge disagrees with the body count");
        FuzzInvariantException.Check(written == Math.Min(result.BodyBytes, max), "content written is not the body up to the limit");
    }

    // The end of data is CRLF "." CRLF (RFC 5321 4.1.1.4), the first one, and nothing else (SMTP smuggling).
    private static void CheckTerminator(ReadOnlySpan<byte> payload, Result result)
    {
        byte[] framed = [(byte)'\r', (byte)'\n', .. payload];
        int first = framed.AsSpan().IndexOf(Terminator);
        if (result.Status == DataStatus.NeedMoreData)
        {
            FuzzInvariantException.Check(first < 0, $"NeedMoreData although the input holds CRLF.CRLF at {first - 2}");
            FuzzInvariantException.Check(result.Consumed == payload.Length, "NeedMoreData consumed less than the input");
            return;
        }

        FuzzInvariantException.Check(first >= 0 && result.Consumed == first + Terminator.Length - 2,
            $"Complete after {result.Consumed} octets, first CRLF.CRLF ends at {first + Terminator.Length - 2}");
    }

    // Reference un-stuffing (RFC 5321 4.5.2): the content is the input up to the terminator's CRLF included, less
    // the dot that starts a line. Input with no bare CR or LF only.
    private static void CheckContent(ReadOnlySpan<byte> payload, Result result, long max)
    {
        bool complete = result.Status == DataStatus.Complete;
        byte[] expected = Unstuff(complete ? payload[..((int)result.Consumed - 3)] : payload);
        if (complete)
        {
            FuzzInvariantException.Check(result.BodyBytes == expected.Length, $"body count {result.BodyBytes}, reference {expected.Length}");
        }
        else
        {
            // A CR at the very end after a line-start dot is held back until the next octet shows what it is.
            long heldBack = expected.Length - result.BodyBytes;
            FuzzInvariantException.Check(heldBack == 0 || (heldBack == 1 && payload[^1] == (byte)'\r'), $"{heldBack} octets held back");
        }

        int written = result.Content.Length / 2;
        FuzzInvariantException.Check(written <= expected.Length
            && result.Content == Convert.ToHexString(expected.AsSpan(0, (int)Math.Min(written, max))),
            "content differs from the reference un-stuffing");
    }

    private static void CheckReset(ReadOnlySpan<byte> payload, Result result, long max)
    {
        byte[] rest = payload[(int)result.Consumed..].ToArray();
        var decoder = new DataDecoder(max);
        var output = new ArrayBufferWriter<byte>();
        var first = new SequenceReader<byte>(new ReadOnlySequence<byte>(payload.ToArray()));
        decoder.Decode(ref first, output);
        decoder.Reset(max);
        output.ResetWrittenCount();
        var second = new SequenceReader<byte>(new ReadOnlySequence<byte>(rest));
        DataStatus status = decoder.Decode(ref second, output);
        Result reused = Make(status, second.Consumed, decoder, output);
        FuzzInvariantException.Check(reused == Segments([rest], max), "a Reset decoder decodes the next message differently");
    }

    // DotStuffer then DataDecoder gives the content back, with CRLF added when it did not end with one.
    private static void CheckRoundTrip(ReadOnlySpan<byte> content, int split)
    {
        var stuffed = new ArrayBufferWriter<byte>();
        var stuffer = new DotStuffer();
        stuffer.Write(content[..split], stuffed);
        stuffer.Write(content[split..], stuffed);
        stuffer.Complete(stuffed);

        var decoder = new DataDecoder(long.MaxValue);
        var output = new ArrayBufferWriter<byte>();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(stuffed.WrittenMemory));
        DataStatus status = decoder.Decode(ref reader, output);
        byte[] expected = content.IsEmpty || content.EndsWith("\r\n"u8) ? content.ToArray() : [.. content, (byte)'\r', (byte)'\n'];
        FuzzInvariantException.Check(status == DataStatus.Complete && reader.End, "stuffed content does not end exactly at its terminator");
        FuzzInvariantException.Check(output.WrittenSpan.SequenceEqual(expected), "stuffed content does not decode back to itself");
    }

    private static byte[] Unstuff(ReadOnlySpan<byte> text)
    {
        var content = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            bool lineStart = i == 0 || (i >= 2 && text[i - 2] == (byte)'\r' && text[i - 1] == (byte)'\n');
            if (!(lineStart && text[i] == (byte)'.'))
            {
                content.Add(text[i]);
            }
        }

        return [.. content];
    }

    // No LF without a CR before it, no CR without an LF after it (a CR as the last octet may still get one).
    private static bool IsClean(ReadOnlySpan<byte> text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == (byte)'\n' && (i == 0 || text[i - 1] != (byte)'\r'))
            {
                return false;
            }

            if (text[i] == (byte)'\r' && i + 1 < text.Length && text[i + 1] != (byte)'\n')
            {
                return false;
            }
        }

        return true;
    }

    private static void Same(ref Result? whole, Result result, string pattern)
    {
        whole ??= result;
        FuzzInvariantException.Check(whole.Value == result, $"{pattern}: {result} differs from {whole.Value}");
    }
}
