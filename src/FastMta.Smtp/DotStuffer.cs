using System.Buffers;

namespace FastMta.Smtp;

// Outbound dot-stuffing (RFC 5321 4.5.2), streaming and resumable across Write calls; DataDecoder is its inverse.
// A '.' is doubled after every LF, not only after CRLF: content with a bare LF must not let a lenient receiver,
// which ends lines at LF, see ".\r\n" as the end of data (SMTP smuggling, CVE-2023-51764). It does not fix bare
// LFs or long lines; content is expected to be valid already.
public struct DotStuffer
{
    private bool _midLine;     // default: at the start of a line
    private bool _lastWasCr;
    private bool _needsCrlf;   // content so far is non-empty and does not end with CRLF

    public void Write(ReadOnlySpan<byte> content, IBufferWriter<byte> output)
    {
        if (content.IsEmpty)
        {
            return;
        }
        int runStart = 0;
        if (!_midLine && content[0] == (byte)'.')
        {
            output.Write("."u8);
        }
        int position = 0;
        while (true)
        {
            int lf = content[position..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                break;
            }
            position += lf + 1;
            if (position < content.Length && content[position] == (byte)'.')
            {
                // Write the run through the dot, then the dot again.
                output.Write(content[runStart..(position + 1)]);
                output.Write("."u8);
                runStart = position + 1;
            }
        }
        output.Write(content[runStart..]);

        byte last = content[^1];
        bool crBeforeLast = content.Length > 1 ? content[^2] == (byte)'\r' : _lastWasCr;
        _midLine = last != (byte)'\n';
        _needsCrlf = !(last == (byte)'\n' && crBeforeLast);
        _lastWasCr = last == (byte)'\r';
    }

    // Ends the data and makes the stuffer ready for the next message.
    public void Complete(IBufferWriter<byte> output)
    {
        output.Write(_needsCrlf ? "\r\n.\r\n"u8 : ".\r\n"u8);
        this = default;
    }
}
