using System.Buffers;

namespace FastMta.Smtp;

// RFC 5321 4.1.3 address literals: "[1.2.3.4]", "[IPv6:...]", and General-address-literal "[tag:content]".
// Syntax only; nothing is parsed into an IPAddress (that would allocate) and nothing is checked for routability.
internal static class AddressLiteral
{
    private static readonly SearchValues<byte> HexDigits =
        SearchValues.Create("0123456789abcdefABCDEF"u8);

    private static readonly SearchValues<byte> Dcontent = SearchValues.Create(
        "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz{|}~"u8);

    public static bool IsValid(ReadOnlySpan<byte> literal)
    {
        if (literal.Length < 3 || literal[0] != (byte)'[' || literal[^1] != (byte)']')
        {
            return false;
        }
        ReadOnlySpan<byte> inner = literal[1..^1];
        if (inner.Length > 5 && System.Text.Ascii.EqualsIgnoreCase(inner[..5], "IPv6:"u8))
        {
            return IsIPv6(inner[5..]);
        }
        return IsIPv4(inner) || IsGeneral(inner);
    }

    // Snum = 1*3DIGIT representing 0-255, four of them separated by dots.
    public static bool IsIPv4(ReadOnlySpan<byte> text)
    {
        for (int part = 0; part < 4; part++)
        {
            int digits = 0;
            int value = 0;
            while (digits < text.Length && char.IsAsciiDigit((char)text[digits]))
            {
                value = (value * 10) + (text[digits] - '0');
                digits++;
                if (digits > 3)
                {
                    return false;
                }
            }
            if (digits == 0 || value > 255)
            {
                return false;
            }
            text = text[digits..];
            if (part < 3)
            {
                if (text.IsEmpty || text[0] != (byte)'.')
                {
                    return false;
                }
                text = text[1..];
            }
        }
        return text.IsEmpty;
    }

    // IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp: hex groups, at most one "::", an optional trailing IPv4.
    private static bool IsIPv6(ReadOnlySpan<byte> text)
    {
        int gap = text.IndexOf("::"u8);
        if (gap < 0)
        {
            return CountGroups(text, out int groups) && groups == 8;
        }
        ReadOnlySpan<byte> head = text[..gap];
        ReadOnlySpan<byte> tail = text[(gap + 2)..];
        return tail.IndexOf("::"u8) < 0
            && CountGroups(head, out int headGroups) && !ContainsDot(head)
            && CountGroups(tail, out int tailGroups)
            && headGroups + tailGroups <= 7;
    }

    private static bool ContainsDot(ReadOnlySpan<byte> text) => text.Contains((byte)'.');

    // Counts 16-bit groups; a dotted IPv4 may end the list and counts as two groups.
    private static bool CountGroups(ReadOnlySpan<byte> text, out int groups)
    {
        groups = 0;
        if (text.IsEmpty)
        {
            return true;
        }
        while (true)
        {
            int colon = text.IndexOf((byte)':');
            ReadOnlySpan<byte> group = colon < 0 ? text : text[..colon];
            if (colon < 0 && ContainsDot(group))
            {
                groups += 2;
                return IsIPv4(group);
            }
            if (group.IsEmpty || group.Length > 4 || group.ContainsAnyExcept(HexDigits))
            {
                return false;
            }
            groups++;
            if (colon < 0)
            {
                return true;
            }
            text = text[(colon + 1)..];
        }
    }

    // General-address-literal = Standardized-tag ":" 1*dcontent; dcontent = %d33-90 / %d94-126.
    private static bool IsGeneral(ReadOnlySpan<byte> text)
    {
        int colon = text.IndexOf((byte)':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }
        ReadOnlySpan<byte> tag = text[..colon];
        foreach (byte b in tag)
        {
            if (!char.IsAsciiLetterOrDigit((char)b) && b != (byte)'-')
            {
                return false;
            }
        }
        return tag[^1] != (byte)'-' && !text[(colon + 1)..].ContainsAnyExcept(Dcontent);
    }
}
