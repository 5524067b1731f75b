namespace FastMta.Smtp;

// The result of parsing one SMTP reply (RFC 5321 4.2). Malformed replies are values, not exceptions: the client
// treats any of them as a broken connection.
public enum ReplyStatus
{
    Complete,
    Incomplete,

    /// <summary>A line does not start with three digits (first 2-5, RFC 5321 4.2.1) followed by SP, '-' or CRLF.</summary>
    Malformed,

    /// <summary>A line ends in a bare LF (RFC 5321 2.3.8: CRLF only).</summary>
    BareLineFeed,

    /// <summary>A line is longer than <see cref="ReplyParser.MaxLineLength"/> octets.</summary>
    LineTooLong,

    /// <summary>The lines of a multi-line reply carry different codes (RFC 5321 4.2.1 requires the same code).</summary>
    InconsistentCode,

    /// <summary>More than <see cref="ReplyParser.MaxLines"/> lines without a final one.</summary>
    TooManyLines,
}
