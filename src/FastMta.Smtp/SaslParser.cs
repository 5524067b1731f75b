using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace FastMta.Smtp;

// AUTH command and SASL message parsing (RFC 4954, RFC 4616). Credentials are only sliced or decoded into the
// caller's scratch, never copied to the heap, so they do not linger in memory or reach a log by accident.
public static class SaslParser
{
    // "AUTH" SP sasl-mech [SP initial-response] (RFC 4954 4). `initialResponse` is the raw text ("=" included, which
    // means an empty response); empty when none was sent. A well-formed but unoffered mechanism yields
    // true with Unknown, so the caller can answer 504 5.5.4 rather than 501.
    public static bool TryParseAuth(ReadOnlySpan<byte> argument, out AuthMechanism mechanism, out ReadOnlySpan<byte> initialResponse)
    {
        mechanism = AuthMechanism.Unknown;
        initialResponse = default;
        int space = argument.IndexOf((byte)' ');
        ReadOnlySpan<byte> name = space < 0 ? argument : argument[..space];
        ReadOnlySpan<byte> response = space < 0 ? default : argument[(space + 1)..].TrimEnd((byte)' ');
        if (!IsMechanismName(name) || response.Contains((byte)' '))
        {
            return false;
        }

        mechanism = Ascii.EqualsIgnoreCase(name, "PLAIN"u8) ? AuthMechanism.Plain
            : Ascii.EqualsIgnoreCase(name, "LOGIN"u8) ? AuthMechanism.Login
            : AuthMechanism.Unknown;
        initialResponse = response;
        return true;
    }

    // "=" is the RFC 4954 4 spelling of an empty response; an empty text is an empty continuation line.
    public static bool TryDecodeBase64(ReadOnlySpan<byte> text, Span<byte> scratch, out ReadOnlySpan<byte> decoded)
    {
        decoded = default;
        if (text.Length == 1 && text[0] == (byte)'=')
        {
            return true;
        }
        if (text.IndexOfAny((byte)' ', (byte)'\t') >= 0)
        {
            return false; // Base64 tolerates whitespace; SASL responses do not contain any (RFC 4648 3.3)
        }
        OperationStatus status = Base64.DecodeFromUtf8(text, scratch, out int consumed, out int written);
        if (status != OperationStatus.Done || consumed != text.Length)
        {
            return false;
        }
        decoded = scratch[..written];
        return true;
    }

    // RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
    public static bool TrySplitPlain(ReadOnlySpan<byte> message, out ReadOnlySpan<byte> authzid,
        out ReadOnlySpan<byte> authcid, out ReadOnlySpan<byte> password)
    {
        authzid = default;
        authcid = default;
        password = default;
        int first = message.IndexOf((byte)0);
        if (first < 0)
        {
            return false;
        }
        int second = message[(first + 1)..].IndexOf((byte)0);
        if (second < 0)
        {
            return false;
        }
        second += first + 1;
        ReadOnlySpan<byte> id = message[(first + 1)..second];
        ReadOnlySpan<byte> pass = message[(second + 1)..];
        if (id.IsEmpty || pass.IsEmpty || pass.Contains((byte)0))
        {
            return false;
        }
        authzid = message[..first];
        authcid = id;
        password = pass;
        return true;
    }

    // RFC 4422 3.1: sasl-mech = 1*20mech-char; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE (matched
    // case-insensitively, as clients send "auth plain").
    private static bool IsMechanismName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > 20)
        {
            return false;
        }
        foreach (byte b in name)
        {
            if (!char.IsAsciiLetterOrDigit((char)b) && b != (byte)'-' && b != (byte)'_')
            {
                return false;
            }
        }
        return true;
    }
}
