using System.Text;
using MailKit;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// Records every byte MailKit's SmtpClient writes (after TLS: the plaintext), so a test knows exactly what content
// went over the wire, and can compare it byte for byte with the spool.
public sealed class CapturingProtocolLogger : IProtocolLogger
{
    private readonly MemoryStream _client = new();
    private readonly MemoryStream _server = new();

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    public byte[] ClientBytes
    {
        get
        {
            lock (_client)
            {
                return _client.ToArray();
            }
        }
    }

    public string ClientText => Encoding.UTF8.GetString(ClientBytes);

    public string ServerText
    {
        get
        {
            lock (_server)
            {
                return Encoding.UTF8.GetString(_server.ToArray());
            }
        }
    }

    public void LogConnect(Uri uri)
    {
    }

    public void LogClient(byte[] buffer, int offset, int count)
    {
        lock (_client)
        {
            _client.Write(buffer, offset, count);
        }
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        lock (_server)
        {
            _server.Write(buffer, offset, count);
        }
    }

    public void Dispose()
    {
    }

    // The message content of the (single) transaction in the client's byte stream: the DATA payload dot-unstuffed
    // up to its terminator, or the concatenated BDAT chunks.
    public byte[] ExtractMessageContent()
    {
        byte[] bytes = ClientBytes;
        var content = new MemoryStream();
        int position = 0;
        bool found = false;
        while (position < bytes.Length)
        {
            int end = IndexOf(bytes, "\r\n"u8, position);
            if (end < 0)
            {
                break;
            }
            string line = Encoding.UTF8.GetString(bytes, position, end - position);
            position = end + 2;
            if (line.Equals("DATA", StringComparison.OrdinalIgnoreCase))
            {
                // The payload ends at CRLF.CRLF; the CRLF before the dot belongs to the content.
                int terminator = bytes.AsSpan(position).StartsWith(".\r\n"u8) ? position - 2 : IndexOf(bytes, "\r\n.\r\n"u8, position);
                if (terminator < 0)
                {
                    throw new InvalidOperationException("No end of DATA in the client's bytes.");
                }
                byte[] stuffed = bytes[position..(terminator + 2)];
                content.Write(Unstuff(stuffed));
                position = terminator + 5;
                found = true;
            }
            else if (line.StartsWith("BDAT ", StringComparison.OrdinalIgnoreCase))
            {
                int size = int.Parse(line.Split(' ')[1]);
                content.Write(bytes, position, size);
                position += size;
                found = true;
            }
        }
        return found ? content.ToArray() : throw new InvalidOperationException($"No DATA or BDAT in the client's bytes:\n{ClientText}");
    }

    private static byte[] Unstuff(byte[] stuffed)
    {
        var output = new MemoryStream(stuffed.Length);
        bool lineStart = true;
        for (int i = 0; i < stuffed.Length; i++)
        {
            if (!(lineStart && stuffed[i] == (byte)'.'))
            {
                output.WriteByte(stuffed[i]);
            }
            lineStart = stuffed[i] == (byte)'\n';
        }
        return output.ToArray();
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value, int start)
    {
        int i = bytes.AsSpan(start).IndexOf(value);
        return i < 0 ? -1 : start + i;
    }
}
