using System.Text;
using MimeKit;
using MimeKit.Utils;

namespace FastMta.Server.Api;

// Builds the structured form with MimeKit (MimeMessage + BodyBuilder). Prepare(SevenBit) picks quoted-printable or
// base64 where needed, so the result is 7-bit clean and needs no 8BITMIME from the receiving MTA.
internal static class MessageBuilder
{
    private static readonly FormatOptions Format = CreateFormat();

    public static MimeMessage Build(ValidatedMessage validated, string hostname, DateTimeOffset now)
    {
        InjectionRequest request = validated.Request;
        var message = new MimeMessage();
        message.From.Add(request.HeaderFrom is not null ? MailboxAddress.Parse(request.HeaderFrom) : new MailboxAddress("", request.From!));
        if (request.To is not null)
        {
            message.To.AddRange(request.To.Select(MailboxAddress.Parse));
        }
        else
        {
            message.To.AddRange(validated.Recipients.Select(r => new MailboxAddress("", Encoding.UTF8.GetString(r))));
        }
        message.Cc.AddRange((request.Cc ?? []).Select(MailboxAddress.Parse));
        message.ReplyTo.AddRange((request.ReplyTo ?? []).Select(MailboxAddress.Parse));
        message.Subject = request.Subject ?? "";
        foreach (var (name, value) in request.Headers ?? [])
        {
            message.Headers[name] = value; // replaces rather than duplicates (Date, Message-ID may be given here)
        }
        // Only when the client did not give them (RFC 5322 3.6 requires Date; Message-ID is what threads and DSNs refer to).
        if (!HasHeader(request, "Date"))
        {
            message.Date = now;
        }
        if (!HasHeader(request, "Message-ID"))
        {
            message.MessageId = MimeUtils.GenerateMessageId(hostname);
        }

        var body = new BodyBuilder { TextBody = request.Text, HtmlBody = request.Html };
        foreach (var (attachment, bytes, type) in validated.Attachments)
        {
            body.Attachments.Add(attachment.Filename!, bytes, type);
        }
        message.Body = body.ToMessageBody();
        message.Prepare(EncodingConstraint.SevenBit);
        return message;
    }

    public static Task WriteAsync(MimeMessage message, Stream output, CancellationToken cancellationToken) =>
        message.WriteToAsync(Format, output, cancellationToken);

    /// <summary>Date and Message-ID lines for the raw form, for the ones its header section lacks ("" when none).</summary>
    public static string MissingRawHeaders(string content, string hostname, DateTimeOffset now)
    {
        var headers = new StringBuilder();
        if (!RawContent.HasHeader(content, "Date"))
        {
            headers.Append("Date: ").Append(DateUtils.FormatDate(now)).Append("\r\n");
        }
        if (!RawContent.HasHeader(content, "Message-ID"))
        {
            headers.Append("Message-ID: <").Append(MimeUtils.GenerateMessageId(hostname)).Append(">\r\n");
        }
        return headers.ToString();
    }

    private static bool HasHeader(InjectionRequest request, string name) =>
        request.Headers?.Keys.Any(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) == true;

    private static FormatOptions CreateFormat()
    {
        FormatOptions format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos; // SMTP content is CRLF
        return format;
    }
}
