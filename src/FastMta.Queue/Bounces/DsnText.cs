using System.Globalization;
using System.Text;

namespace FastMta.Queue;

/// <summary>Value encodings for message/delivery-status fields, which RFC 3464 §2.1 keeps to US-ASCII.</summary>
internal static class DsnText
{
    /// <summary>
    /// "rfc822; addr" for an ASCII address; "utf-8; addr" with every non-ASCII character (and '+', '=', '\', which
    /// utf-8-addr-xtext reserves) written as \x{HEX}, for a UTF-8 address (RFC 6533 §3, the 7-bit form allowed in
    /// message/delivery-status).
    /// </summary>
    public static string AddressField(string address)
    {
        if (Ascii.IsValid(address))
        {
            return "rfc822; " + address;
        }

        var sb = new StringBuilder("utf-8; ", address.Length + 16);
        foreach (var rune in address.EnumerateRunes())
        {
            var v = rune.Value;
            if (v is > 0x20 and < 0x7F and not '+' and not '=' and not '\\')
            {
                sb.Append((char)v);
            }
            else
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\x{{{v:X}}}");
            }
        }

        return sb.ToString();
    }

    /// <summary>Printable US-ASCII only: line breaks become spaces, anything else outside 0x20-0x7E becomes '?', so
    /// a reply text can neither break the field syntax nor make the part 8-bit.</summary>
    public static string SevenBitLine(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var v = rune.Value;
            sb.Append(v switch
            {
                '\r' or '\n' or '\t' => ' ',
                >= 0x20 and < 0x7F => (char)v,
                _ => '?',
            });
        }

        return sb.ToString();
    }

    /// <summary>An RFC 3463 status-code: class 2, 4 or 5, then two numbers of at most three digits.</summary>
    public static bool IsStatusCode(string status)
    {
        var parts = status.Split('.');
        return parts.Length == 3
            && parts[0] is "2" or "4" or "5"
            && parts[1].Length is >= 1 and <= 3 && parts[1].All(char.IsAsciiDigit)
            && parts[2].Length is >= 1 and <= 3 && parts[2].All(char.IsAsciiDigit);
    }
}
