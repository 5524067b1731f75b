namespace FastMta.Smtp;

// 1*DIGIT to long for SIZE= (RFC 1870) and BDAT chunk sizes (RFC 3030). No sign, no spaces, no overflow:
// Utf8Parser would accept a sign, and wrapping a huge size into a small one would defeat the limit it feeds.
internal static class Digits
{
    public static bool TryParse(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }
        foreach (byte b in text)
        {
            uint digit = (uint)(b - '0');
            if (digit > 9 || value > (long.MaxValue - digit) / 10)
            {
                value = 0;
                return false;
            }
            value = (value * 10) + digit;
        }
        return true;
    }
}
