using System.Buffers;

namespace FastMta.Smtp;

// Outbound dot-stuffing (RFC 5321 4.5.2), streaming and resumable across Write calls; DataDecoder is its inverse.
// The output is always CRLF-clean: a '.' is doubled only at the start of a line, and a line starts only after CRLF.
// Content that is CRLF-clean already (everything the server accepts: DATA, BDAT and the HTTP API refuse bare CR and
// LF) goes out unchanged, so a receiver that removes the stuffing gets exactly the stored bytes. A bare LF or a
// bare CR in the content (it can only come from an older spool) cannot be sent over DATA as it is without some
// receiver taking it for a line end, and so possibly for an end of data ("\n.\n", "\r.\r\n"): each one is written
// as CRLF and counted (Complete returns the count), and the line after it is stuffed like any other. No byte
// sequence in the content can make it write CRLF "." CRLF before Complete. It does not fold long lines.
public struct DotStuffer
{
    private bool _midLine;     // default: at the start of a line
    private bool _pendingCr;   // the last write ended with a CR, not yet written: CRLF or bare, the next byte decides
    private int _bareLineEnds;

    public void Write(ReadOnlySpan<byte> content, IBufferWriter<byte> output)
    {
        if (content.IsEmpty)
        {
            return;
        }
        int position = 0;
        if (_pendingCr)
        {
            _pendingCr = false;
            output.Write("\r\n"u8);
            if (content[0] == (byte)'\n')
            {
                position = 1;
            }
            else
            {
                _bareLineEnds++;
            }
            _midLine = false;
        }
        int runStart = position; // content[runStart..position] is still to be written
        while (true)
        {
            if (!_midLine)
            {
                if (position == content.Length)
                {
                    break;
                }
                if (content[position] == (byte)'.')
                {
                    output.Write(content[runStart..position]);
                    output.Write("."u8); // the stuffing dot; the content's dot starts the next run
                    runStart = position;
                }
                _midLine = true;
            }
            int found = content[position..].IndexOfAny((byte)'\r', (byte)'\n');
            if (found < 0)
            {
                break;
            }
            found += position;
            if (content[found] == (byte)'\r' && found + 1 == content.Length)
            {
                output.Write(content[runStart..found]);
                runStart = position = content.Length;
                _pendingCr = true;
                break;
            }
            if (content[found] == (byte)'\r' && content[found + 1] == (byte)'\n')
            {
                position = found + 2; // CRLF stays in the run
            }
            else
            {
                output.Write(content[runStart..found]);
                output.Write("\r\n"u8);
                _bareLineEnds++;
                runStart = position = found + 1;
            }
            _midLine = false;
        }
        output.Write(content[runStart..]);
    }

    // Ends the data (a CRLF first when the content does not end with one) and makes the stuffer ready for the next
    // message. Returns how many bare CRs and LFs were written as CRLF: 0 for content the server accepts today.
    public int Complete(IBufferWriter<byte> output)
    {
        int bareLineEnds = _bareLineEnds;
        if (_pendingCr)
        {
            bareLineEnds++;
            output.Write("\r\n.\r\n"u8);
        }
        else
        {
            output.Write(_midLine ? "\r\n.\r\n"u8 : ".\r\n"u8);
        }
        this = default;
        return bareLineEnds;
    }
}
