namespace FastMta.Smtp;

// Every fixed reply the server sends, pre-encoded, each with its RFC 3463 enhanced status code (RFC 2034: once
// ENHANCEDSTATUSCODES is advertised every reply carries one). This is the one table of code + enhanced-code pairs;
// replies with variable text (banner, EHLO, "queued as") are composed from the prefixes at the bottom.
public static class SmtpReplies
{
    // 2xx
    public static ReadOnlySpan<byte> Ok => "250 2.0.0 Ok\r\n"u8;
    public static ReadOnlySpan<byte> SenderOk => "250 2.1.0 Ok\r\n"u8;
    public static ReadOnlySpan<byte> RecipientOk => "250 2.1.5 Ok\r\n"u8;
    public static ReadOnlySpan<byte> Bye => "221 2.0.0 Bye\r\n"u8;
    public static ReadOnlySpan<byte> CannotVrfy => "252 2.1.5 Cannot VRFY user, but will accept message and attempt delivery\r\n"u8;
    public static ReadOnlySpan<byte> Help => "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\r\n"u8;
    public static ReadOnlySpan<byte> ReadyToStartTls => "220 2.0.0 Ready to start TLS\r\n"u8;
    public static ReadOnlySpan<byte> AuthSucceeded => "235 2.7.0 Authentication successful\r\n"u8;

    // 3xx
    public static ReadOnlySpan<byte> StartMailInput => "354 End data with <CR><LF>.<CR><LF>\r\n"u8;
    public static ReadOnlySpan<byte> AuthEmptyChallenge => "334 \r\n"u8;
    public static ReadOnlySpan<byte> AuthLoginUsername => "334 VXNlcm5hbWU6\r\n"u8; // base64("Username:")
    public static ReadOnlySpan<byte> AuthLoginPassword => "334 UGFzc3dvcmQ6\r\n"u8; // base64("Password:")

    // 4xx: transient
    public static ReadOnlySpan<byte> TooManyConnections => "421 4.7.0 Too many connections, try again later\r\n"u8;
    public static ReadOnlySpan<byte> TooManyConnectionsFromClient => "421 4.7.0 Too many connections from your address\r\n"u8;
    public static ReadOnlySpan<byte> DataRateTooLow => "421 4.4.2 Data arriving too slowly, closing connection\r\n"u8;
    public static ReadOnlySpan<byte> TooManyErrors => "421 4.7.0 Too many errors, closing connection\r\n"u8;
    public static ReadOnlySpan<byte> ShuttingDown => "421 4.3.2 Service shutting down, try again later\r\n"u8;
    public static ReadOnlySpan<byte> IdleTimeout => "421 4.4.2 Timeout exceeded, closing connection\r\n"u8;
    // Mid-body: the rest of the message is still coming, so the session ends (RFC 5321 3.8).
    public static ReadOnlySpan<byte> SpoolUnavailableClosing => "421 4.3.0 Queue write failed, closing connection\r\n"u8;
    public static ReadOnlySpan<byte> InsufficientStorageClosing => "421 4.3.1 Insufficient system storage, closing connection\r\n"u8;
    public static ReadOnlySpan<byte> SpoolUnavailable => "451 4.3.0 Queue write failed, try again later\r\n"u8;
    // RFC 3463 4.3.1 "Mail system full"; RFC 5321 452 "insufficient system storage". At DATA/BDAT, and at MAIL/RCPT
    // while the spool is known to be out of space.
    public static ReadOnlySpan<byte> InsufficientStorage => "452 4.3.1 Insufficient system storage, try again later\r\n"u8;
    public static ReadOnlySpan<byte> TooManyRecipients => "452 4.5.3 Too many recipients\r\n"u8;
    public static ReadOnlySpan<byte> TlsNotAvailable => "454 4.7.0 TLS not available\r\n"u8;
    public static ReadOnlySpan<byte> AuthRateLimited => "454 4.7.0 Too many failed authentication attempts, try again later\r\n"u8;
    public static ReadOnlySpan<byte> AuthTemporaryFailure => "454 4.7.0 Temporary authentication failure\r\n"u8; // RFC 4954 6

    // 5xx: permanent
    public static ReadOnlySpan<byte> LineTooLong => "500 5.5.2 Line too long\r\n"u8;
    public static ReadOnlySpan<byte> BareLineFeedInCommand => "500 5.5.2 Bare LF in command; lines must end with CRLF\r\n"u8;
    public static ReadOnlySpan<byte> ControlCharacterInCommand => "500 5.5.2 Invalid character in command\r\n"u8;
    public static ReadOnlySpan<byte> CommandUnrecognized => "500 5.5.1 Command unrecognized\r\n"u8;
    public static ReadOnlySpan<byte> HeloSyntax => "501 5.5.4 Syntax: HELO/EHLO hostname\r\n"u8;
    public static ReadOnlySpan<byte> MailSyntax => "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]\r\n"u8;
    public static ReadOnlySpan<byte> RcptSyntax => "501 5.5.4 Syntax: RCPT TO:<address> [parameters]\r\n"u8;
    public static ReadOnlySpan<byte> BdatSyntax => "501 5.5.4 Syntax: BDAT size [LAST]\r\n"u8;
    public static ReadOnlySpan<byte> NoParametersAllowed => "501 5.5.4 Syntax error: no parameters allowed\r\n"u8;
    public static ReadOnlySpan<byte> BadSenderAddress => "501 5.1.7 Bad sender address syntax\r\n"u8;
    public static ReadOnlySpan<byte> BadRecipientAddress => "501 5.1.3 Bad recipient address syntax\r\n"u8;
    public static ReadOnlySpan<byte> AuthCannotDecode => "501 5.5.2 Cannot decode authentication response\r\n"u8;
    public static ReadOnlySpan<byte> AuthCancelled => "501 5.7.0 Authentication cancelled\r\n"u8;
    public static ReadOnlySpan<byte> ExpnNotImplemented => "502 5.5.1 EXPN not available\r\n"u8;
    public static ReadOnlySpan<byte> SendHeloFirst => "503 5.5.1 Error: send HELO/EHLO first\r\n"u8;
    public static ReadOnlySpan<byte> NeedMail => "503 5.5.1 Error: need MAIL command\r\n"u8;
    public static ReadOnlySpan<byte> NestedMail => "503 5.5.1 Error: nested MAIL command\r\n"u8;
    public static ReadOnlySpan<byte> NeedRcpt => "503 5.5.1 Error: need RCPT command\r\n"u8;
    public static ReadOnlySpan<byte> DataAfterBdat => "503 5.5.1 Error: DATA not allowed after BDAT in one transaction\r\n"u8;
    public static ReadOnlySpan<byte> TlsAlreadyActive => "503 5.5.1 Error: TLS already active\r\n"u8;
    public static ReadOnlySpan<byte> AlreadyAuthenticated => "503 5.5.1 Error: already authenticated\r\n"u8;
    public static ReadOnlySpan<byte> AuthInTransaction => "503 5.5.1 Error: AUTH not allowed during a mail transaction\r\n"u8;
    public static ReadOnlySpan<byte> AuthNotAvailable => "503 5.5.1 Error: authentication not enabled\r\n"u8;
    public static ReadOnlySpan<byte> AuthMechanismUnknown => "504 5.5.4 Unrecognized authentication type\r\n"u8;
    public static ReadOnlySpan<byte> AuthFailed => "535 5.7.8 Authentication credentials invalid\r\n"u8;
    public static ReadOnlySpan<byte> EncryptionRequiredForAuth => "538 5.7.11 Encryption required for requested authentication mechanism\r\n"u8;
    public static ReadOnlySpan<byte> NoLocalMailboxes => "550 5.1.1 This relay has no local mailboxes\r\n"u8;
    public static ReadOnlySpan<byte> MessageTooBig => "552 5.3.4 Message size exceeds fixed limit\r\n"u8;
    public static ReadOnlySpan<byte> NonAsciiNeedsSmtpUtf8 => "553 5.6.7 Non-ASCII address requires the SMTPUTF8 parameter\r\n"u8;
    public static ReadOnlySpan<byte> BareLineFeedInData => "554 5.6.0 Message contains a bare LF; lines must end with CRLF\r\n"u8;
    public static ReadOnlySpan<byte> BareCarriageReturnInData => "554 5.6.0 Message contains a bare CR; lines must end with CRLF\r\n"u8;
    public static ReadOnlySpan<byte> UnknownPool => "550 5.7.1 X-FastMta-Pool names no configured egress pool\r\n"u8;
    public static ReadOnlySpan<byte> RelayDenied => "554 5.7.1 Relay access denied\r\n"u8;
    public static ReadOnlySpan<byte> UnknownParameter => "555 5.5.4 Unsupported MAIL/RCPT parameter\r\n"u8;
    public static ReadOnlySpan<byte> BadParameterValue => "501 5.5.4 Invalid parameter value\r\n"u8;

    // Prefixes for composed replies.
    public static ReadOnlySpan<byte> QueuedAsPrefix => "250 2.0.0 Ok: queued as "u8;
    public static ReadOnlySpan<byte> BdatChunkPrefix => "250 2.0.0 Ok: octets received "u8;
}
