using System.Text;

namespace FastMta.Smtp;

// Arguments of MAIL, RCPT, HELO/EHLO and BDAT. Every result is a slice of the argument; nothing is copied.
// Deliberate leniency, each one something Postfix also accepts: spaces after "FROM:"/"TO:", several spaces
// between parameters, spaces around a HELO name, underscores in domains.
public static class PathParser
{
    // "FROM:" Reverse-path [SP Mail-parameters] (RFC 5321 4.1.1.2). Address errors win over parameter errors.
    public static PathStatus TryParseMailFrom(ReadOnlySpan<byte> argument, out MailFromCommand command)
    {
        command = default;
        command.DeclaredSize = -1;
        if (!TrySplitPath(argument, "FROM:"u8, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> parameters))
        {
            return PathStatus.SyntaxError;
        }
        command.Parameters = parameters;
        PathStatus parameterStatus = EsmtpParameters.ParseMail(parameters, ref command);

        if (!path.IsEmpty)
        {
            PathStatus pathStatus = MailboxSyntax.ParsePath(path, command.SmtpUtf8, out ReadOnlySpan<byte> mailbox, out _);
            if (pathStatus != PathStatus.Ok)
            {
                return pathStatus;
            }
            command.Address = mailbox;
        }
        return parameterStatus;
    }

    // "TO:" ( "<Postmaster>" / Forward-path ) [SP Rcpt-parameters] (RFC 5321 4.1.1.3). `smtpUtf8` is the
    // transaction's MAIL SMTPUTF8 flag (RFC 6531 3.4). No RCPT parameter is supported yet.
    public static PathStatus TryParseRcptTo(ReadOnlySpan<byte> argument, bool smtpUtf8, out RcptToCommand command)
    {
        command = default;
        if (!TrySplitPath(argument, "TO:"u8, out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> parameters))
        {
            return PathStatus.SyntaxError;
        }
        command.Parameters = parameters;

        if (Ascii.EqualsIgnoreCase(path, "Postmaster"u8))
        {
            command.Address = path;
            command.IsPostmaster = true;
        }
        else if (path.IsEmpty)
        {
            return PathStatus.BadAddress; // RFC 5321 4.1.1.3: a forward-path is never null
        }
        else
        {
            PathStatus status = MailboxSyntax.ParsePath(path, smtpUtf8, out ReadOnlySpan<byte> mailbox, out int domainStart);
            if (status != PathStatus.Ok)
            {
                return status;
            }
            command.Address = mailbox;
            command.Domain = mailbox[domainStart..];
        }
        return parameters.IsEmpty ? PathStatus.Ok : PathStatus.UnknownParameter;
    }

    // RFC 5321 4.1.1.1: HELO/EHLO take a domain or an address literal. A name that merely looks wrong is not
    // verified against DNS here; this only keeps garbage out of the Received header.
    public static bool TryParseHeloDomain(ReadOnlySpan<byte> argument, out ReadOnlySpan<byte> domain)
    {
        domain = argument.Trim((byte)' ');
        bool valid = !domain.IsEmpty && (domain[0] == (byte)'['
            ? AddressLiteral.IsValid(domain)
            : MailboxSyntax.IsDomain(domain, allowUtf8: false));
        if (!valid)
        {
            domain = default;
        }
        return valid;
    }

    // RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]; end-marker = "LAST". Trailing spaces tolerated.
    public static bool TryParseBdat(ReadOnlySpan<byte> argument, out long chunkSize, out bool last)
    {
        last = false;
        int space = argument.IndexOf((byte)' ');
        ReadOnlySpan<byte> size = space < 0 ? argument : argument[..space];
        if (!Digits.TryParse(size, out chunkSize))
        {
            return false;
        }
        ReadOnlySpan<byte> rest = space < 0 ? default : argument[(space + 1)..].TrimEnd((byte)' ');
        if (rest.IsEmpty)
        {
            return true;
        }
        if (Ascii.EqualsIgnoreCase(rest, "LAST"u8))
        {
            last = true;
            return true;
        }
        chunkSize = 0;
        return false;
    }

    // Splits `prefix` "<" path ">" [SP parameters]. False (a syntax error, 501 5.5.4) when the prefix, the angle
    // brackets, or the SP before the parameters is missing. `path` excludes the brackets; `parameters` is trimmed.
    private static bool TrySplitPath(ReadOnlySpan<byte> argument, ReadOnlySpan<byte> prefix,
        out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> parameters)
    {
        path = default;
        parameters = default;
        if (argument.Length < prefix.Length || !Ascii.EqualsIgnoreCase(argument[..prefix.Length], prefix))
        {
            return false;
        }
        ReadOnlySpan<byte> rest = argument[prefix.Length..].TrimStart((byte)' ');
        if (rest.IsEmpty || rest[0] != (byte)'<')
        {
            return false;
        }
        int close = MailboxSyntax.FindPathEnd(rest);
        if (close < 0)
        {
            return false;
        }
        ReadOnlySpan<byte> after = rest[(close + 1)..];
        if (!after.IsEmpty && after[0] != (byte)' ')
        {
            return false;
        }
        path = rest[1..close];
        parameters = after.Trim((byte)' ');
        return true;
    }
}
