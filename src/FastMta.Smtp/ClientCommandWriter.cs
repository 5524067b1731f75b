using System.Buffers;
using System.Text;

namespace FastMta.Smtp;

// The client's commands (RFC 5321 4.1.1, RFC 1870, 6152, 6531, 3030, 3207), written straight into the output pipe.
// Flushing is the caller's business: with PIPELINING, MAIL, every RCPT and DATA go out in one write (RFC 2920 3.1).
// Addresses are envelope strings already validated on the way in; a CR or LF in one is a bug upstream and would
// let an address inject commands, so it throws instead of being written.
public static class ClientCommandWriter
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;

    public static void WriteEhlo(IBufferWriter<byte> output, string domain) => WriteVerbAndArgument(output, "EHLO "u8, domain);

    public static void WriteHelo(IBufferWriter<byte> output, string domain) => WriteVerbAndArgument(output, "HELO "u8, domain);

    // MAIL FROM:<reverse-path> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8]; an empty sender is the null path "<>".
    public static void WriteMailFrom(IBufferWriter<byte> output, string sender, long? size = null, bool eightBitMime = false,
        bool smtpUtf8 = false)
    {
        output.Write("MAIL FROM:<"u8);
        WriteText(output, sender);
        output.Write(">"u8);
        if (size is long value)
        {
            output.Write(" SIZE="u8);
            WriteNumber(output, value);
        }
        if (eightBitMime)
        {
            output.Write(" BODY=8BITMIME"u8);
        }
        if (smtpUtf8)
        {
            output.Write(" SMTPUTF8"u8);
        }
        output.Write(Crlf);
    }

    public static void WriteRcptTo(IBufferWriter<byte> output, string recipient)
    {
        output.Write("RCPT TO:<"u8);
        WriteText(output, recipient);
        output.Write(">\r\n"u8);
    }

    public static void WriteData(IBufferWriter<byte> output) => output.Write("DATA\r\n"u8);

    // RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF. The chunk's octets follow, written by the caller.
    public static void WriteBdat(IBufferWriter<byte> output, long chunkSize, bool last)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkSize);
        output.Write("BDAT "u8);
        WriteNumber(output, chunkSize);
        output.Write(last ? " LAST\r\n"u8 : Crlf);
    }

    public static void WriteRset(IBufferWriter<byte> output) => output.Write("RSET\r\n"u8);

    public static void WriteQuit(IBufferWriter<byte> output) => output.Write("QUIT\r\n"u8);

    public static void WriteStartTls(IBufferWriter<byte> output) => output.Write("STARTTLS\r\n"u8);

    private static void WriteVerbAndArgument(IBufferWriter<byte> output, ReadOnlySpan<byte> verb, string argument)
    {
        output.Write(verb);
        WriteText(output, argument);
        output.Write(Crlf);
    }

    private static void WriteText(IBufferWriter<byte> output, string text)
    {
        if (text.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new ArgumentException("An SMTP command argument must not contain CR or LF.", nameof(text));
        }
        Span<byte> span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        int written = Encoding.UTF8.GetBytes(text, span);
        output.Advance(written);
    }

    private static void WriteNumber(IBufferWriter<byte> output, long value)
    {
        Span<byte> span = output.GetSpan(20);
        value.TryFormat(span, out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
        output.Advance(written);
    }
}
