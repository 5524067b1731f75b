namespace FastMta.Spool;

/// <summary>
/// What the client declared for the message with MAIL FROM (or the HTTP API on its behalf), kept typed in the
/// envelope so that nobody parses the stored parameter text again. The raw parameters are still stored beside them.
/// </summary>
[Flags]
public enum EnvelopeFlags : byte
{
    None = 0,

    /// <summary>SMTPUTF8 (RFC 6531): the message may need a receiver that offers SMTPUTF8.</summary>
    SmtpUtf8 = 1,

    /// <summary>
    /// BODY=8BITMIME (RFC 6152): sent on as BODY=8BITMIME when the receiver offers it. BODY=BINARYMIME has no flag:
    /// BINARYMIME is not advertised, so MAIL FROM refuses it and no message carries it.
    /// </summary>
    EightBitMime = 2,
}
