using System.Buffers;
using System.Globalization;
using System.Text;

namespace FastMta.Intake;

// The trace header every MTA prepends (RFC 5321 4.4), in Postfix's shape:
//   Received: from helo.example (client [192.0.2.1])
//           by mta.example (FastMta) with ESMTPS id 0ABCDEF123456;
//           Sat, 28 Nov 2026 07:10:00 +0000
// The recipient is not named ("for <...>"): with several recipients it would leak the others' addresses. Not SMTP's
// alone: the HTTP API writes the same line with "api" for the HELO name and HTTP/HTTPA for the protocol.
internal static class ReceivedHeader
{
    // The client address comes already formatted (an SMTP session formats it once per connection, not per message).
    public static void Write(IBufferWriter<byte> output, string heloName, string clientText, ReadOnlySpan<byte> hostname,
        string protocol, ReadOnlySpan<byte> messageId, DateTimeOffset now)
    {
        output.Write("Received: from "u8);
        WriteAscii(output, heloName);
        output.Write(" (["u8);
        WriteAscii(output, clientText);
        output.Write("])\r\n\tby "u8);
        output.Write(hostname);
        output.Write(" (FastMta) with "u8);
        WriteAscii(output, protocol);
        output.Write(" id "u8);
        output.Write(messageId);
        output.Write(";\r\n\t"u8);
        Span<byte> date = output.GetSpan(64);
        // RFC 5322 3.3 date-time; "r" would print "GMT", the numeric zone is the preferred form.
        now.UtcDateTime.TryFormat(date, out int written, "ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
        output.Advance(written);
        output.Write("\r\n"u8);
    }

    // HELO names were validated by the codec (printable ASCII or UTF-8 domain); still, never let a CR or LF through.
    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        Span<byte> span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        int n = Encoding.UTF8.GetBytes(text, span);
        for (int i = 0; i < n; i++)
        {
            if (span[i] is (byte)'\r' or (byte)'\n')
            {
                span[i] = (byte)'?';
            }
        }
        output.Advance(n);
    }
}
