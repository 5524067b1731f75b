namespace FastMta.Smtp;

// RFC 5321 4.1.2 Mail-parameters = esmtp-param *(SP esmtp-param); esmtp-param = esmtp-keyword ["=" esmtp-value].
// Only the MAIL parameters we advertise are understood; everything else is refused rather than silently relayed,
// because the outbound hop would otherwise promise a service (DSN, BINARYMIME) that nobody implements.
internal static class EsmtpParameters
{
    // Parses every parameter even after a failure, so SMTPUTF8 is known for the address check; returns the first failure.
    public static PathStatus ParseMail(ReadOnlySpan<byte> text, ref MailFromCommand command)
    {
        PathStatus result = PathStatus.Ok;
        while (!text.IsEmpty)
        {
            int space = text.IndexOf((byte)' ');
            ReadOnlySpan<byte> parameter = space < 0 ? text : text[..space];
            text = space < 0 ? default : text[(space + 1)..].TrimStart((byte)' ');

            PathStatus status = ParseOne(parameter, ref command);
            if (result == PathStatus.Ok)
            {
                result = status;
            }
        }
        return result;
    }

    private static PathStatus ParseOne(ReadOnlySpan<byte> parameter, ref MailFromCommand command)
    {
        int equals = parameter.IndexOf((byte)'=');
        ReadOnlySpan<byte> keyword = equals < 0 ? parameter : parameter[..equals];
        ReadOnlySpan<byte> value = equals < 0 ? default : parameter[(equals + 1)..];
        if (!IsKeyword(keyword))
        {
            return PathStatus.SyntaxError;
        }

        if (System.Text.Ascii.EqualsIgnoreCase(keyword, "SIZE"u8))
        {
            // RFC 1870 3: size-value = 1*20DIGIT; a value past long is a lie we need not entertain.
            if (!Digits.TryParse(value, out long size))
            {
                return PathStatus.BadParameterValue;
            }
            command.DeclaredSize = size;
            return PathStatus.Ok;
        }
        if (System.Text.Ascii.EqualsIgnoreCase(keyword, "BODY"u8))
        {
            // RFC 6152 2: BODY=7BIT / 8BITMIME. BINARYMIME (RFC 3030) is not advertised, so it is refused.
            if (System.Text.Ascii.EqualsIgnoreCase(value, "7BIT"u8))
            {
                command.Body = BodyType.SevenBit;
                return PathStatus.Ok;
            }
            if (System.Text.Ascii.EqualsIgnoreCase(value, "8BITMIME"u8))
            {
                command.Body = BodyType.EightBitMime;
                return PathStatus.Ok;
            }
            return PathStatus.BadParameterValue;
        }
        if (System.Text.Ascii.EqualsIgnoreCase(keyword, "SMTPUTF8"u8))
        {
            // RFC 6531 3.4: the keyword takes no value.
            if (equals >= 0)
            {
                return PathStatus.BadParameterValue;
            }
            command.SmtpUtf8 = true;
            return PathStatus.Ok;
        }
        if (System.Text.Ascii.EqualsIgnoreCase(keyword, "AUTH"u8))
        {
            // RFC 4954 5: AUTH=<> or AUTH=xtext. Checked for syntax, then ignored: we never trust a claimed identity.
            return equals >= 0 && (value.SequenceEqual("<>"u8) || IsXtext(value)) ? PathStatus.Ok : PathStatus.BadParameterValue;
        }
        return PathStatus.UnknownParameter;
    }

    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    private static bool IsKeyword(ReadOnlySpan<byte> keyword)
    {
        if (keyword.IsEmpty || keyword[0] == (byte)'-')
        {
            return false;
        }
        foreach (byte b in keyword)
        {
            if (!char.IsAsciiLetterOrDigit((char)b) && b != (byte)'-')
            {
                return false;
            }
        }
        return true;
    }

    // RFC 3461 4: xtext = *( xchar / hexchar ); xchar = %d33-42 / %d44-60 / %d62-126; hexchar = "+" 2(DIGIT / A-F).
    private static bool IsXtext(ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty)
        {
            return false;
        }
        for (int i = 0; i < value.Length; i++)
        {
            byte b = value[i];
            if (b == (byte)'+')
            {
                if (i + 2 >= value.Length || !IsUpperHex(value[i + 1]) || !IsUpperHex(value[i + 2]))
                {
                    return false;
                }
                i += 2;
            }
            else if (b < 33 || b > 126 || b == (byte)'=')
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsUpperHex(byte b) => char.IsAsciiDigit((char)b) || (b >= (byte)'A' && b <= (byte)'F');
}
