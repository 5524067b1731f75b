using System.Text;
using System.Text.RegularExpressions;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// Message bytes as a client sends them, and as the spool stores them.
public static partial class MessageContent
{
    // A small RFC 5322 message with a unique Message-ID; lines end with CRLF, and so does the content.
    public static byte[] Simple(string from, string to, string subject, string body, string? messageId = null)
    {
        messageId ??= $"<{Guid.NewGuid():N}@client.test.example>";
        string text = $"From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: {messageId}\r\n" +
                      "Date: Sat, 28 Nov 2026 07:10:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
                      body;
        if (!text.EndsWith("\r\n", StringComparison.Ordinal))
        {
            text += "\r\n";
        }
        return Encoding.UTF8.GetBytes(text);
    }

    // DATA transparency (RFC 5321 4.5.2): a dot starting a line is doubled; then the terminator. Content must end
    // with CRLF (or be empty).
    public static byte[] DotStuff(ReadOnlySpan<byte> content)
    {
        var output = new MemoryStream(content.Length + content.Length / 40 + 8);
        bool lineStart = true;
        foreach (byte b in content)
        {
            if (lineStart && b == (byte)'.')
            {
                output.WriteByte((byte)'.');
            }
            output.WriteByte(b);
            lineStart = b == (byte)'\n';
        }
        if (content.Length > 0 && !content.EndsWith("\r\n"u8))
        {
            throw new ArgumentException("DATA content must end with CRLF.", nameof(content));
        }
        output.Write(".\r\n"u8);
        return output.ToArray();
    }

    // The first header field of the stored body is FastMta's Received header (with its folded lines).
    public static (string Header, byte[] Content) SplitReceived(byte[] body)
    {
        if (!body.AsSpan().StartsWith("Received: "u8))
        {
            throw new InvalidOperationException($"The stored body does not start with a Received header: '{Preview(body)}'");
        }
        int position = 0;
        while (true)
        {
            int lf = Array.IndexOf(body, (byte)'\n', position);
            if (lf < 0)
            {
                throw new InvalidOperationException("The Received header is not terminated.");
            }
            position = lf + 1;
            if (position >= body.Length || body[position] is not ((byte)' ' or (byte)'\t'))
            {
                break;
            }
        }
        return (Encoding.UTF8.GetString(body, 0, position), body[position..]);
    }

    // "Received: from <helo> ([<ip>])\r\n\tby mx.test.example (FastMta) with <protocol> id <id>;\r\n\t<date>\r\n"
    public static Regex ReceivedPattern(string helo, string protocol, string id) => new(
        $@"^Received: from {Regex.Escape(helo)} \(\[127\.0\.0\.1\]\)\r\n\tby {Regex.Escape(ServerProcess.Hostname)} \(FastMta\) with {protocol} id {id};\r\n\t[A-Z][a-z]{{2}}, \d{{2}} [A-Z][a-z]{{2}} \d{{4}} \d{{2}}:\d{{2}}:\d{{2}} \+0000\r\n$");

    public static string Preview(ReadOnlySpan<byte> bytes, int max = 300)
    {
        string text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, max)]);
        return EscapeControls().Replace(text, m => m.Value switch { "\r" => "\\r", "\n" => "\\n", _ => $"\\x{(int)m.Value[0]:x2}" })
               + (bytes.Length > max ? $"... ({bytes.Length} bytes)" : "");
    }

    [GeneratedRegex(@"[\x00-\x1f]")]
    private static partial Regex EscapeControls();
}
