using System.Text.Unicode;

namespace FastMta.Smtp;

// RFC 5321 4.1.2 path grammar, with the RFC 6531 3.3 extension (UTF-8 in local parts and domains) when SMTPUTF8
// is in effect. Validates only; nothing is copied or normalised, and no domain is looked up.
internal static class MailboxSyntax
{
    private const int MaxPathOctets = 256;      // RFC 5321 4.5.3.1.3, counting the angle brackets
    private const int MaxLocalPartOctets = 64;  // RFC 5321 4.5.3.1.1
    private const int MaxDomainOctets = 255;    // RFC 5321 4.5.3.1.2
    private const int MaxLabelOctets = 63;      // RFC 1035 2.3.4

    // Finds the '>' that closes a path starting at `text[0] == '<'`, skipping quoted local parts (which may hold
    // '>'). Returns the index of '>' or -1.
    public static int FindPathEnd(ReadOnlySpan<byte> text)
    {
        bool quoted = false;
        for (int i = 1; i < text.Length; i++)
        {
            byte b = text[i];
            if (quoted && b == (byte)'\\')
            {
                i++;
            }
            else if (b == (byte)'"')
            {
                quoted = !quoted;
            }
            else if (b == (byte)'>' && !quoted)
            {
                return i;
            }
        }
        return -1;
    }

    // `path` is what lies between '<' and '>'. On Ok, `mailbox` is local@domain without any source route and
    // `domainStart` indexes the domain inside it.
    public static PathStatus ParsePath(ReadOnlySpan<byte> path, bool smtpUtf8, out ReadOnlySpan<byte> mailbox, out int domainStart)
    {
        mailbox = default;
        domainStart = 0;
        PathStatus encoding = CheckEncoding(path, smtpUtf8);
        if (encoding != PathStatus.Ok)
        {
            return encoding;
        }
        if (path.Length + 2 > MaxPathOctets)
        {
            return PathStatus.BadAddress;
        }

        // RFC 5321 4.1.2 A-d-l, "@a,@b:" : obsolete source route, accepted and ignored (RFC 5321 C).
        if (!path.IsEmpty && path[0] == (byte)'@')
        {
            int colon = path.IndexOf((byte)':');
            if (colon < 0 || !IsAtDomainList(path[..colon], smtpUtf8))
            {
                return PathStatus.BadAddress;
            }
            path = path[(colon + 1)..];
        }

        int localLength = LocalPartLength(path, smtpUtf8);
        if (localLength <= 0 || localLength > MaxLocalPartOctets)
        {
            return PathStatus.BadAddress;
        }
        if (localLength >= path.Length || path[localLength] != (byte)'@')
        {
            return PathStatus.BadAddress; // no domain
        }
        ReadOnlySpan<byte> domain = path[(localLength + 1)..];
        bool domainOk = !domain.IsEmpty && domain[0] == (byte)'[' ? AddressLiteral.IsValid(domain) : IsDomain(domain, smtpUtf8);
        if (!domainOk)
        {
            return PathStatus.BadAddress;
        }
        mailbox = path;
        domainStart = localLength + 1;
        return PathStatus.Ok;
    }

    // RFC 6531 3.4: non-ASCII needs SMTPUTF8, and then it must be well-formed UTF-8 (RFC 3629).
    private static PathStatus CheckEncoding(ReadOnlySpan<byte> path, bool smtpUtf8)
    {
        if (!System.Text.Ascii.IsValid(path))
        {
            if (!smtpUtf8)
            {
                return PathStatus.NonAsciiWithoutSmtpUtf8;
            }
            if (!Utf8.IsValid(path))
            {
                return PathStatus.BadAddress;
            }
        }
        // Controls (and DEL) appear nowhere in the path grammar, not even in quoted strings (qtextSMTP is 32-126).
        return path.IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0 || path.Contains((byte)0x7F)
            ? PathStatus.BadAddress
            : PathStatus.Ok;
    }

    // Length of the Local-part (Dot-string or Quoted-string) at the start of `path`, or -1 if malformed.
    private static int LocalPartLength(ReadOnlySpan<byte> path, bool smtpUtf8)
    {
        if (path.IsEmpty)
        {
            return -1;
        }
        if (path[0] == (byte)'"')
        {
            // Quoted-string: qtextSMTP = %d32-33 / %d35-91 / %d93-126, quoted-pairSMTP = "\" %d32-126.
            for (int i = 1; i < path.Length; i++)
            {
                byte b = path[i];
                if (b == (byte)'"')
                {
                    return i + 1;
                }
                if (b == (byte)'\\')
                {
                    i++;
                    if (i >= path.Length || path[i] < 32 || path[i] > 126)
                    {
                        return -1;
                    }
                }
                else if (b < 32 || (b > 126 && !smtpUtf8))
                {
                    return -1;
                }
            }
            return -1;
        }

        // Dot-string = Atom *("." Atom): no leading, trailing or doubled dot.
        int end = 0;
        bool atomStart = true;
        while (end < path.Length && path[end] != (byte)'@')
        {
            byte b = path[end];
            if (b == (byte)'.')
            {
                if (atomStart)
                {
                    return -1;
                }
                atomStart = true;
            }
            else if (IsAtext(b) || (b >= 0x80 && smtpUtf8))
            {
                atomStart = false;
            }
            else
            {
                return -1;
            }
            end++;
        }
        return atomStart ? -1 : end;
    }

    // RFC 5322 3.2.3 atext.
    private static bool IsAtext(byte b) =>
        char.IsAsciiLetterOrDigit((char)b) || "!#$%&'*+-/=?^_`{|}~"u8.Contains(b);

    private static bool IsAtDomainList(ReadOnlySpan<byte> list, bool smtpUtf8)
    {
        while (true)
        {
            int comma = list.IndexOf((byte)',');
            ReadOnlySpan<byte> item = comma < 0 ? list : list[..comma];
            if (item.Length < 2 || item[0] != (byte)'@' || !IsDomain(item[1..], smtpUtf8))
            {
                return false;
            }
            if (comma < 0)
            {
                return true;
            }
            list = list[(comma + 1)..];
        }
    }

    // RFC 5321 4.1.2 Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]. Underscore is accepted
    // as a letter because real hostnames carry it and rejecting them helps nobody; U-labels pass with SMTPUTF8.
    public static bool IsDomain(ReadOnlySpan<byte> domain, bool allowUtf8)
    {
        if (domain.IsEmpty || domain.Length > MaxDomainOctets)
        {
            return false;
        }
        int labelLength = 0;
        for (int i = 0; i <= domain.Length; i++)
        {
            if (i == domain.Length || domain[i] == (byte)'.')
            {
                if (labelLength == 0 || labelLength > MaxLabelOctets || domain[i - 1] == (byte)'-')
                {
                    return false;
                }
                labelLength = 0;
                continue;
            }
            byte b = domain[i];
            bool letDig = char.IsAsciiLetterOrDigit((char)b) || b == (byte)'_' || (b >= 0x80 && allowUtf8);
            if (!letDig && !(b == (byte)'-' && labelLength > 0))
            {
                return false;
            }
            labelLength++;
        }
        return true;
    }
}
