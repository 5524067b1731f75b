namespace FastMta.Smtp;

// RFC 3463 2: status-code = class "." subject "." detail; class = "2" / "4" / "5"; subject and detail 1*3digit.
// RFC 2034 3 puts it at the start of the reply text, followed by SP, and its class must match the reply code's
// first digit; text that merely looks similar ("5.1 foo", "4.4.7x") is not a code.
public static class EnhancedStatusCode
{
    public static bool TryParse(ReadOnlySpan<byte> text, int replyCode, out int length)
    {
        length = 0;
        if (text.Length < 5 || text[0] != (byte)('0' + replyCode / 100) || text[0] is not ((byte)'2' or (byte)'4' or (byte)'5')
            || text[1] != (byte)'.')
        {
            return false;
        }
        int position = 2;
        if (!SkipDigits(text, ref position) || position >= text.Length || text[position] != (byte)'.')
        {
            return false;
        }
        position++;
        if (!SkipDigits(text, ref position) || (position < text.Length && text[position] != (byte)' '))
        {
            return false;
        }
        length = position;
        return true;
    }

    private static bool SkipDigits(ReadOnlySpan<byte> text, ref int position)
    {
        int start = position;
        while (position < text.Length && position - start < 3 && char.IsAsciiDigit((char)text[position]))
        {
            position++;
        }
        // More than three digits is not a code either.
        return position > start && (position >= text.Length || !char.IsAsciiDigit((char)text[position]));
    }
}
