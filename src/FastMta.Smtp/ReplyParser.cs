using System.Buffers;
using System.Text;

namespace FastMta.Smtp;

// The client side's reply reader (RFC 5321 4.2): Reply-line = *( Reply-code "-" [ textstring ] CRLF )
// Reply-code [ SP textstring ] CRLF. Works on whatever the pipe holds: an incomplete reply consumes nothing, so the
// caller reads more and calls again (the PipeReader contract), whatever the segment boundaries. Memory stays
// bounded: a line is at most MaxLineLength octets and a reply at most MaxLines lines. It does not interpret codes
// beyond their syntax; that is the client session's business.
public static class ReplyParser
{
    // RFC 5321 4.5.3.1.5 sets 512 octets for a reply line; real servers exceed it (long 5xx explanations, URLs),
    // so we accept four times that and call anything longer broken.
    public const int MaxLineLength = 2048;

    // An EHLO reply has one line per extension; a hundred is far beyond any real server.
    public const int MaxLines = 100;

    // One reply line, without allocating: the text is a slice of the input or of the scratch (when the line spans
    // segments, it is copied there once; scratch must hold MaxLineLength octets). Consumes nothing unless Complete.
    public static ReplyStatus TryReadLine(ref SequenceReader<byte> reader, Span<byte> scratch, out int code, out bool isLast,
        out ReadOnlySpan<byte> text)
    {
        code = 0;
        isLast = false;
        text = default;
        long remaining = reader.Remaining;
        ReadOnlySequence<byte> window = reader.UnreadSequence.Slice(0, Math.Min(remaining, MaxLineLength));
        SequencePosition? lf = window.PositionOf((byte)'\n');
        if (lf is null)
        {
            return remaining >= MaxLineLength ? ReplyStatus.LineTooLong : ReplyStatus.Incomplete;
        }

        ReadOnlySequence<byte> raw = window.Slice(0, lf.Value);
        ReadOnlySpan<byte> line;
        if (raw.IsSingleSegment)
        {
            line = raw.FirstSpan;
        }
        else
        {
            if (scratch.Length < raw.Length)
            {
                throw new ArgumentException("Scratch must hold MaxLineLength octets.", nameof(scratch));
            }
            raw.CopyTo(scratch);
            line = scratch[..(int)raw.Length];
        }
        if (line.IsEmpty || line[^1] != (byte)'\r')
        {
            return ReplyStatus.BareLineFeed;
        }
        line = line[..^1];

        // Reply-code = %x32-35 %x30-35 %x30-39
        if (line.Length < 3 || line[0] is < (byte)'2' or > (byte)'5' || line[1] is < (byte)'0' or > (byte)'5'
            || line[2] is < (byte)'0' or > (byte)'9')
        {
            return ReplyStatus.Malformed;
        }
        if (line.Length == 3)
        {
            isLast = true;
        }
        else if (line[3] == (byte)' ')
        {
            isLast = true;
            text = line[4..];
        }
        else if (line[3] == (byte)'-')
        {
            text = line[4..];
        }
        else
        {
            return ReplyStatus.Malformed;
        }
        code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        reader.Advance(raw.Length + 1);
        return ReplyStatus.Complete;
    }

    // A whole reply. On Complete, consumed is just past its last CRLF; otherwise it is the start of the input and
    // reply is null. The first pass only validates, so an incomplete reply allocates nothing; strings are made once
    // the reply is known to be whole.
    public static ReplyStatus TryParse(in ReadOnlySequence<byte> input, out SequencePosition consumed, out SmtpReply? reply)
    {
        consumed = input.Start;
        reply = null;
        // Pooled rather than stackalloc'd: the line slices handed out must not outlive a stack buffer.
        byte[] scratch = ArrayPool<byte>.Shared.Rent(MaxLineLength);
        try
        {
            return TryParse(input, scratch, out consumed, out reply);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static ReplyStatus TryParse(in ReadOnlySequence<byte> input, byte[] scratch, out SequencePosition consumed,
        out SmtpReply? reply)
    {
        consumed = input.Start;
        reply = null;
        var reader = new SequenceReader<byte>(input);
        int firstCode = -1;
        int lines = 0;
        while (true)
        {
            ReplyStatus status = TryReadLine(ref reader, scratch, out int code, out bool isLast, out _);
            if (status != ReplyStatus.Complete)
            {
                return status;
            }
            if (firstCode < 0)
            {
                firstCode = code;
            }
            else if (code != firstCode)
            {
                return ReplyStatus.InconsistentCode;
            }
            lines++;
            if (isLast)
            {
                break;
            }
            if (lines >= MaxLines)
            {
                return ReplyStatus.TooManyLines;
            }
        }

        var texts = new string[lines];
        string enhanced = "";
        var second = new SequenceReader<byte>(input.Slice(0, reader.Position));
        for (int i = 0; i < lines; i++)
        {
            TryReadLine(ref second, scratch, out _, out _, out ReadOnlySpan<byte> text);
            if (i == 0 && EnhancedStatusCode.TryParse(text, firstCode, out int length))
            {
                enhanced = Encoding.ASCII.GetString(text[..length]);
            }
            // Servers may send UTF-8 text (RFC 6531 3.7.4); anything else is decoded with replacement characters.
            texts[i] = Encoding.UTF8.GetString(text);
        }
        consumed = reader.Position;
        reply = new SmtpReply(firstCode, enhanced, texts);
        return ReplyStatus.Complete;
    }
}
