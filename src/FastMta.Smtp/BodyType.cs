namespace FastMta.Smtp;

// RFC 6152 BODY= parameter; None when the client did not send one.
public enum BodyType : byte
{
    None,
    SevenBit,
    EightBitMime,
}
