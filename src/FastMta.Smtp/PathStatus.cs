namespace FastMta.Smtp;

// Outcome of parsing a MAIL / RCPT argument; each value maps to one reply (501 5.5.4 / 501 5.1.7 / 501 5.1.3,
// 555 5.5.4 for parameters, 553 5.6.7 for RFC 6531 3.4 non-ASCII without SMTPUTF8).
public enum PathStatus
{
    Ok,
    SyntaxError,
    BadAddress,
    UnknownParameter,
    BadParameterValue,
    NonAsciiWithoutSmtpUtf8,
}
