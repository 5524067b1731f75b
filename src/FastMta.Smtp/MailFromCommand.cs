namespace FastMta.Smtp;

// RFC 5321 4.1.1.2: "MAIL FROM:" Reverse-path [SP Mail-parameters]. Every span points into the command line, so
// it is valid only until the caller advances past that line.
public ref struct MailFromCommand
{
    // Empty for the null reverse-path "<>" (bounces, RFC 5321 4.5.5).
    public ReadOnlySpan<byte> Address;

    // Raw ESMTP parameter text after '>' (trimmed), stored verbatim in the spool for the outbound hop.
    public ReadOnlySpan<byte> Parameters;

    // RFC 1870 SIZE=, -1 when absent.
    public long DeclaredSize;

    // BINARYMIME is not advertised, so BODY=BINARYMIME is refused rather than represented here.
    public BodyType Body;

    // RFC 6531 3.4: non-ASCII addresses in this transaction are allowed only with this keyword.
    public bool SmtpUtf8;
}
