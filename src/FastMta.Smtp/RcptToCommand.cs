namespace FastMta.Smtp;

// RFC 5321 4.1.1.3: "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters].
// Every span points into the command line, so it is valid only until the caller advances past that line.
public ref struct RcptToCommand
{
    // local@domain, any source route ("@a,@b:") already stripped (RFC 5321 C).
    public ReadOnlySpan<byte> Address;

    // The part after the last '@' (a domain or an address literal with its brackets); empty for "<Postmaster>".
    public ReadOnlySpan<byte> Domain;

    // No RCPT parameter is advertised yet, so any text here makes the command fail with UnknownParameter.
    public ReadOnlySpan<byte> Parameters;

    // RFC 5321 4.5.1: the bare "<Postmaster>" (case-insensitive) that every server must accept.
    public bool IsPostmaster;
}
