using System.Text;
using FastMta.Smtp;

namespace FastMta.Fuzz;

// SaslParser: the AUTH argument, base64 responses, the PLAIN message. Parameter: the decode scratch size (value x 8
// octets; 0: the session's 1,024). The payload is tried as each of the three. Invariants: each result equals a
// reference (RFC 4954 4 argument syntax, the BCL's base64 decoder for canonical base64, RFC 4616 2's split on NUL); results are slices of
// their input or of the scratch; base64 of any octets decodes back to them when they fit the scratch.
internal static class SaslTarget
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        var fuzz = new FuzzInput(input);
        ReadOnlySpan<byte> payload = fuzz.Payload;
        byte[] scratch = new byte[fuzz.Parameter == 0 ? 1024 : fuzz.Parameter * 8];

        CheckAuth(payload);
        CheckBase64(payload, scratch);
        CheckPlain(payload);

        // The payload's octets as a client would send them.
        byte[] encoded = Encoding.ASCII.GetBytes(Convert.ToBase64String(payload));
        bool decoded = SaslParser.TryDecodeBase64(encoded, scratch, out ReadOnlySpan<byte> back);
        FuzzInvariantException.Check(decoded == (payload.Length <= scratch.Length || encoded.Length == 0)
            && (!decoded || back.SequenceEqual(payload)), "base64 of the payload does not decode back to it");
    }

    private static void CheckAuth(ReadOnlySpan<byte> argument)
    {
        bool parsed = SaslParser.TryParseAuth(argument, out AuthMechanism mechanism, out ReadOnlySpan<byte> response);
        int space = argument.IndexOf((byte)' ');
        ReadOnlySpan<byte> name = space < 0 ? argument : argument[..space];
        ReadOnlySpan<byte> rest = space < 0 ? default : argument[(space + 1)..].TrimEnd((byte)' ');
        bool nameOk = name.Length is >= 1 and <= 20;
        foreach (byte b in name)
        {
            nameOk &= b is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'-' or (byte)'_';
        }

        bool expected = nameOk && !rest.Contains((byte)' ');
        FuzzInvariantException.Check(parsed == expected, $"TryParseAuth {parsed}, reference {expected}");
        if (!parsed)
        {
            return;
        }

        AuthMechanism expectedMechanism = Ascii.EqualsIgnoreCase(name, "PLAIN"u8) ? AuthMechanism.Plain
            : Ascii.EqualsIgnoreCase(name, "LOGIN"u8) ? AuthMechanism.Login
            : AuthMechanism.Unknown;
        FuzzInvariantException.Check(mechanism == expectedMechanism, $"mechanism {mechanism}, reference {expectedMechanism}");
        FuzzInvariantException.Check(response.SequenceEqual(rest), "initial response differs from the reference");
    }

    private static void CheckBase64(ReadOnlySpan<byte> text, byte[] scratch)
    {
        bool decoded = SaslParser.TryDecodeBase64(text, scratch, out ReadOnlySpan<byte> result);
        if (text.SequenceEqual("="u8))
        {
            FuzzInvariantException.Check(decoded && result.IsEmpty, "\"=\" is not the empty response");
            return;
        }

        bool alphabetOnly = true;
        foreach (byte b in text)
        {
            alphabetOnly &= char.IsAsciiLetterOrDigit((char)b) || b is (byte)'+' or (byte)'/' or (byte)'=';
        }

        byte[] reference = new byte[text.Length];
        bool referenceOk = Convert.TryFromBase64String(Encoding.Latin1.GetString(text), reference, out int written);
        if (decoded)
        {
            FuzzInvariantException.Check(referenceOk && result.SequenceEqual(reference.AsSpan(0, written)), "decoded where the reference does not, or to other octets");
            FuzzInvariantException.Check(result.IsEmpty || result.Overlaps(scratch), "decoded octets are not in the scratch");
            FuzzInvariantException.Check(!text.ContainsAny((byte)' ', (byte)'\t'), "a response with SP or HTAB decoded");
        }
        else if (alphabetOnly && referenceOk && written <= scratch.Length
            && Convert.ToBase64String(reference, 0, written) == Encoding.Latin1.GetString(text))
        {
            // Only canonical base64 must be taken: RFC 4648 3.5 lets a decoder refuse non-zero pad bits ("QR==").
            throw new FuzzInvariantException("refused canonical base64 that the reference decodes and that fits the scratch");
        }
    }

    private static void CheckPlain(ReadOnlySpan<byte> message)
    {
        bool split = SaslParser.TrySplitPlain(message, out ReadOnlySpan<byte> authzid, out ReadOnlySpan<byte> authcid, out ReadOnlySpan<byte> password);
        int parts = message.Count((byte)0) + 1;
        int first = message.IndexOf((byte)0);
        int second = first < 0 ? -1 : first + 1 + message[(first + 1)..].IndexOf((byte)0);
        bool expected = parts == 3 && second > first + 1 && second < message.Length - 1;
        FuzzInvariantException.Check(split == expected, $"TrySplitPlain {split}, reference {expected}");
        if (split)
        {
            FuzzInvariantException.Check(authzid.SequenceEqual(message[..first]) && authcid.SequenceEqual(message[(first + 1)..second])
                && password.SequenceEqual(message[(second + 1)..]), "PLAIN parts differ from the reference split");
        }
    }
}
