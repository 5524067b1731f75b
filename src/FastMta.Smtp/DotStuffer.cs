using System.Buffers;

namespace FastMta.Smtp;

// Outbound dot-stuffing (RFC 5321 4.5.2), streaming and resumable across Write calls; DataDecoder is its inverse.
// The output is always CRLF-clean: a '.' is doubled only at the start of a line, and a line starts only after CRLF.
// Content that is CRLF-clean already (everything the server accepts: DATA and BDAT refuse bare CR and LF, the HTTP
// API refuses bare CR and makes LF line ends CRLF) goes out unchanged, so a receiver that removes the stuffing gets exactly the stored bytes. A bare LF or a
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
        int runStart = position; // content[runStart..] is not written yet
        int crlfs = 0;           // CRLFs in the run
        if (!_midLine && position < content.Length && content[position] == (byte)'.')
        {
            output.Write("."u8); // the stuffing dot; the content's dot starts the run
        }
        // Lines are found by LF alone (one vectorized search per line); bare CRs are found by counting when a run is
        // written (WriteRun), so CRLF-clean content costs one search per line and one count per run.
        while (true)
        {
            int lf = content[position..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                break;
            }
            lf += position;
            position = lf + 1;
            if (lf > 0 && content[lf - 1] == (byte)'\r')
            {
                crlfs++;
                if (position < content.Length && content[position] == (byte)'.')
                {
                    WriteRun(content[runStart..position], crlfs, output);
                    output.Write("."u8);
                    runStart = position;
                    crlfs = 0;
                }
                continue;
            }
            WriteRun(content[runStart..lf], crlfs, output); // a bare LF: written as CRLF, a line starts after it
            output.Write("\r\n"u8);
            _bareLineEnds++;
            runStart = position;
            crlfs = 0;
            if (position < content.Length && content[position] == (byte)'.')
            {
                output.Write("."u8);
            }
        }
        int end = content.Length;
        if (content[^1] == (byte)'\r' && end - 1 >= runStart)
        {
            _pendingCr = true; // CRLF or bare: the next write or Complete decides
            end--;
        }
        WriteRun(content[runStart..end], crlfs, output);
        _midLine = content[^1] != (byte)'\n';
    }

    // Writes a run of content that has `crlfs` CRLFs and starts mid-line or after its stuffing dot (it ends before
    // a bare LF, after a CRLF, or before a CR held back for the next write). More CRs than CRLFs means bare CRs (an
    // older spool): each is written as CRLF, with a stuffing dot when a '.' follows it.
    private void WriteRun(ReadOnlySpan<byte> run, int crlfs, IBufferWriter<byte> output)
    {
        if (run.Count((byte)'\r') == crlfs)
        {
            if (!run.IsEmpty)
            {
                output.Write(run);
            }
            return;
        }
        int start = 0;
        int cr = run.IndexOf((byte)'\r');
        while (cr >= 0)
        {
            bool last = cr + 1 == run.Length; // the held-back CR follows: this one is bare
            if (last || run[cr + 1] != (byte)'\n')
            {
                output.Write(run[start..cr]);
                output.Write(!last && run[cr + 1] == (byte)'.' ? "\r\n."u8 : "\r\n"u8);
                _bareLineEnds++;
                start = cr + 1;
            }
            int next = run[(cr + 1)..].IndexOf((byte)'\r');
            cr = next < 0 ? -1 : cr + 1 + next;
        }
        output.Write(run[start..]);
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
