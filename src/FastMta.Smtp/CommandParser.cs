using System.Buffers.Binary;

namespace FastMta.Smtp;

// Verb dispatch for one framed command line (RFC 5321 4.1.1). Verbs are matched as one little-endian 32-bit word
// with ASCII case folding (OR 0x20 per byte), so recognising a command is a single switch, no strings, no trial
// parsing. Folding cannot alias: for a lowercase letter L, b | 0x20 == L only for b == L or its uppercase.
// This does not validate the argument; PathParser / SaslParser do that per verb.
public static class CommandParser
{
    private const uint CaseFold = 0x20202020;
    private const ulong CaseFold64 = 0x2020202020202020;

    private const uint Helo = 'h' | ('e' << 8) | ('l' << 16) | ((uint)'o' << 24);
    private const uint Ehlo = 'e' | ('h' << 8) | ('l' << 16) | ((uint)'o' << 24);
    private const uint Mail = 'm' | ('a' << 8) | ('i' << 16) | ((uint)'l' << 24);
    private const uint Rcpt = 'r' | ('c' << 8) | ('p' << 16) | ((uint)'t' << 24);
    private const uint Data = 'd' | ('a' << 8) | ('t' << 16) | ((uint)'a' << 24);
    private const uint Bdat = 'b' | ('d' << 8) | ('a' << 16) | ((uint)'t' << 24);
    private const uint Rset = 'r' | ('s' << 8) | ('e' << 16) | ((uint)'t' << 24);
    private const uint Noop = 'n' | ('o' << 8) | ('o' << 16) | ((uint)'p' << 24);
    private const uint Quit = 'q' | ('u' << 8) | ('i' << 16) | ((uint)'t' << 24);
    private const uint Vrfy = 'v' | ('r' << 8) | ('f' << 16) | ((uint)'y' << 24);
    private const uint Expn = 'e' | ('x' << 8) | ('p' << 16) | ((uint)'n' << 24);
    private const uint Help = 'h' | ('e' << 8) | ('l' << 16) | ((uint)'p' << 24);
    private const uint Auth = 'a' | ('u' << 8) | ('t' << 16) | ((uint)'h' << 24);
    private const uint Star = 's' | ('t' << 8) | ('a' << 16) | ((uint)'r' << 24);
    private const ulong StartTls = Star | ((ulong)('t' | ('t' << 8) | ('l' << 16) | ((uint)'s' << 24)) << 32);

    // Returns Unknown for NUL or CR anywhere (RFC 5321 2.3.8 / 4.1.1: a bare CR is not part of a command; callers
    // answer 500 5.5.2), for an unrecognised verb, and for a verb run on into more letters ("MAILX").
    public static SmtpVerb ParseVerb(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> argument)
    {
        argument = default;
        if (line.Length < 4 || ContainsForbiddenControl(line))
        {
            return SmtpVerb.Unknown;
        }

        SmtpVerb verb = (BinaryPrimitives.ReadUInt32LittleEndian(line) | CaseFold) switch
        {
            Helo => SmtpVerb.Helo,
            Ehlo => SmtpVerb.Ehlo,
            Mail => SmtpVerb.Mail,
            Rcpt => SmtpVerb.Rcpt,
            Data => SmtpVerb.Data,
            Bdat => SmtpVerb.Bdat,
            Rset => SmtpVerb.Rset,
            Noop => SmtpVerb.Noop,
            Quit => SmtpVerb.Quit,
            Vrfy => SmtpVerb.Vrfy,
            Expn => SmtpVerb.Expn,
            Help => SmtpVerb.Help,
            Auth => SmtpVerb.Auth,
            Star => SmtpVerb.StartTls,
            _ => SmtpVerb.Unknown,
        };

        int verbLength = 4;
        if (verb == SmtpVerb.StartTls)
        {
            if (line.Length < 8 || (BinaryPrimitives.ReadUInt64LittleEndian(line) | CaseFold64) != StartTls)
            {
                return SmtpVerb.Unknown;
            }
            verbLength = 8;
        }
        if (verb == SmtpVerb.Unknown)
        {
            return SmtpVerb.Unknown;
        }

        if (line.Length == verbLength)
        {
            return verb;
        }
        if (line[verbLength] != (byte)' ')
        {
            return SmtpVerb.Unknown;
        }
        argument = line[(verbLength + 1)..];
        return verb;
    }

    public static bool ContainsForbiddenControl(ReadOnlySpan<byte> line) => line.IndexOfAny((byte)0, (byte)'\r') >= 0;
}
