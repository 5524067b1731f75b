namespace FastMta.Smtp;

// Finds bare line ends in content that arrives in pieces without a terminator (BDAT chunks, RFC 3030): a bare LF
// (an LF not preceded by CR) or a bare CR (a CR not followed by LF). RFC 5321 2.3.8 allows CR and LF only as CRLF,
// and without BINARYMIME (not offered) BDAT content is line-oriented text like DATA's, so the session refuses it as
// it refuses DATA with a bare line end (SMTP smuggling, CVE-2023-51764). A CRLF split between two pieces (or two
// chunks) is a CRLF: a CR ending a piece is decided by the next piece, or by Complete. Looks only; copies nothing.
public struct LineEndChecker
{
    private bool _pendingCr;   // the last piece ended with CR
    private bool _sawBareLineFeed;
    private bool _sawBareCarriageReturn;

    public readonly bool SawBareLineFeed => _sawBareLineFeed;

    public readonly bool SawBareCarriageReturn => _sawBareCarriageReturn;

    public readonly bool SawBareLineEnd => _sawBareLineFeed | _sawBareCarriageReturn;

    public void Reset() => this = default;

    public void Check(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
        {
            return;
        }
        int position = 0;
        if (_pendingCr)
        {
            _pendingCr = false;
            if (content[0] == (byte)'\n')
            {
                position = 1;
            }
            else
            {
                _sawBareCarriageReturn = true;
            }
        }
        while (true)
        {
            int found = content[position..].IndexOfAny((byte)'\r', (byte)'\n');
            if (found < 0)
            {
                return;
            }
            found += position;
            if (content[found] == (byte)'\n')
            {
                _sawBareLineFeed = true; // CRLF pairs are skipped whole, so this LF has no CR before it
                position = found + 1;
            }
            else if (found + 1 == content.Length)
            {
                _pendingCr = true;
                return;
            }
            else if (content[found + 1] == (byte)'\n')
            {
                position = found + 2;
            }
            else
            {
                _sawBareCarriageReturn = true;
                position = found + 1;
            }
        }
    }

    // The content is complete: a CR at its very end has no LF after it.
    public void Complete()
    {
        if (_pendingCr)
        {
            _pendingCr = false;
            _sawBareCarriageReturn = true;
        }
    }
}
