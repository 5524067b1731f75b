namespace FastMta.Smtp;

// RFC 5321 2.3.8, 4.5.3.1.4: command lines end with CRLF; the maximum length includes the CRLF.
public enum LineStatus
{
    Incomplete,
    Complete,
    TooLong,
    BareLineFeed,
}
