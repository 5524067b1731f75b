using System.Buffers;

namespace FastMta.Smtp;

// Writes replies straight into the output pipe (IBufferWriter), never into an intermediate string. Flushing is the
// caller's business: with PIPELINING, replies accumulate and are flushed once the input runs dry (RFC 2920 3.2).
public static class ReplyWriter
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> reply) => output.Write(reply);

    // prefix + text + CRLF, e.g. "250 2.0.0 Ok: queued as " + id.
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> text)
    {
        output.Write(prefix);
        output.Write(text);
        output.Write(Crlf);
    }

    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> prefix, long number)
    {
        output.Write(prefix);
        Span<byte> digits = stackalloc byte[20];
        number.TryFormat(digits, out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
        output.Write(digits[..written]);
        output.Write(Crlf);
    }

    // One line of a multi-line reply (RFC 5321 4.2.1): "250-text" for all but the last, "250 text" for the last.
    public static void WriteLine(IBufferWriter<byte> output, int code, bool last, ReadOnlySpan<byte> text)
    {
        Span<byte> head = stackalloc byte[4];
        head[0] = (byte)('0' + code / 100);
        head[1] = (byte)('0' + code / 10 % 10);
        head[2] = (byte)('0' + code % 10);
        head[3] = last ? (byte)' ' : (byte)'-';
        output.Write(head);
        output.Write(text);
        output.Write(Crlf);
    }
}
