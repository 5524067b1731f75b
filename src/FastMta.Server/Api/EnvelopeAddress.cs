using System.Text;
using FastMta.Smtp;

namespace FastMta.Server.Api;

// Envelope addresses go through the SMTP codec's own path parser (as "FROM:<...>" / "TO:<...>"), so HTTP and SMTP
// accept exactly the same addresses. The parsed mailbox must be the whole input: anything the parser would have
// stripped or taken as parameters ("a@b> SIZE=1", a source route) is refused rather than silently changed.
internal static class EnvelopeAddress
{
    public static bool TryParseSender(string address, out byte[] utf8) =>
        TryParse("FROM:<"u8, address, isSender: true, out utf8);

    public static bool TryParseRecipient(string address, out byte[] utf8) =>
        TryParse("TO:<"u8, address, isSender: false, out utf8);

    public static bool IsAscii(byte[] utf8) => Ascii.IsValid(utf8);

    private static bool TryParse(ReadOnlySpan<byte> prefix, string address, bool isSender, out byte[] utf8)
    {
        utf8 = Encoding.UTF8.GetBytes(address);
        if (utf8.Length == 0)
        {
            return isSender; // the null sender "<>"; a recipient is never null
        }
        if (utf8.Length > 512)
        {
            return false;
        }
        // SMTPUTF8 in effect, so the parser admits UTF-8 addresses (RFC 6531); the spool then records SMTPUTF8.
        byte[] argument = [.. prefix, .. utf8, .. ">"u8, .. (isSender ? " SMTPUTF8"u8 : default)];
        if (isSender)
        {
            PathStatus status = PathParser.TryParseMailFrom(argument, out MailFromCommand mail);
            return status == PathStatus.Ok && mail.Address.SequenceEqual(utf8) && mail.Parameters.SequenceEqual("SMTPUTF8"u8);
        }
        PathStatus rcptStatus = PathParser.TryParseRcptTo(argument, smtpUtf8: true, out RcptToCommand rcpt);
        return rcptStatus == PathStatus.Ok && !rcpt.IsPostmaster && rcpt.Address.SequenceEqual(utf8) && rcpt.Parameters.IsEmpty;
    }
}
