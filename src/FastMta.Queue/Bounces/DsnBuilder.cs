using System.Buffers;
using System.Text;
using MimeKit;
using MimeKit.Utils;

namespace FastMta.Queue;

/// <summary>
/// Builds an RFC 3464 delivery status notification: multipart/report (RFC 6522) with a human-readable text/plain
/// part, a message/delivery-status part and a text/rfc822-headers part holding the original header section only.
/// The result is 7-bit (non-ASCII text is quoted-printable) with CRLF line ends, ready to be spooled as a new message
/// with the null reverse-path. Does not send, spool or decide whether to bounce (see <see cref="MaySend"/>).
/// </summary>
internal static class DsnBuilder
{
    /// <summary>Upper bound of the returned header section; Postfix returns headers only by default as well.</summary>
    public const int MaxReturnedHeaderBytes = 64 * 1024;

    public const string FailedSubject = "Undelivered Mail Returned to Sender";
    public const string DelayedSubject = "Delayed Mail (still being retried)";

    private static readonly FormatOptions Format = CreateFormat();

    /// <summary>
    /// Whether a DSN may be sent for a message from <paramref name="envelopeSender"/>: never to the null reverse-path
    /// (RFC 5321 §4.5.5, RFC 3464 §2: notifications are themselves sent with it, so this rule alone stops bounce
    /// loops). Deliberately nothing more: a MAILER-DAEMON@ sender or an Auto-Submitted original still gets its DSN,
    /// because such mail is only loop-prone when sent with a non-null sender, and refusing it would hide real failures.
    /// </summary>
    public static bool MaySend(string envelopeSender) => envelopeSender.Length > 0;

    /// <summary>The DSN as bytes.</summary>
    public static byte[] Build(DsnRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        Write(request, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the DSN into <paramref name="destination"/> (e.g. a spool message writer); returns its length.
    /// Throws ArgumentException for a request that cannot make a valid DSN: that is a bug in the caller.</summary>
    public static long Write(DsnRequest request, IBufferWriter<byte> destination)
    {
        Validate(request);
        var message = CreateMessage(request);
        var stream = new BufferWriterStream(destination);
        message.WriteTo(Format, stream);
        return stream.Written;
    }

    private static MimeMessage CreateMessage(DsnRequest request)
    {
        var anyFailed = request.Recipients.Any(r => r.Action == DsnAction.Failed);
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", "MAILER-DAEMON@" + request.ReportingMta));
        message.To.Add(new MailboxAddress(string.Empty, request.OriginalSender));
        message.Subject = anyFailed ? FailedSubject : DelayedSubject;
        message.Date = request.Date;
        message.MessageId = MimeUtils.GenerateMessageId(request.ReportingMta);
        // RFC 3834 §5: automatic responders must not answer this message.
        message.Headers.Add("Auto-Submitted", "auto-replied");

        var explanation = new TextPart("plain");
        explanation.SetText("utf-8", DsnExplanation.Write(request));
        explanation.ContentTransferEncoding = explanation.GetBestEncoding(EncodingConstraint.SevenBit);

        var report = new MultipartReport("delivery-status") { explanation, CreateDeliveryStatus(request), CreateHeaders(request) };
        message.Body = report;
        return message;
    }

    private static MessageDeliveryStatus CreateDeliveryStatus(DsnRequest request) => new()
    {
        Content = new MimeContent(new MemoryStream(DsnStatusFields.Write(request), writable: false)),
    };

    private static MimePart CreateHeaders(DsnRequest request)
    {
        var headers = DsnHeaderSection.Extract(request.OriginalMessage, MaxReturnedHeaderBytes);
        // A plain MimePart rather than MimeKit's TextRfc822Headers: the bytes go out untouched, and as a text type the
        // part may be quoted-printable when an SMTPUTF8 original has 8-bit headers, keeping the DSN 7-bit.
        var part = new MimePart("text", "rfc822-headers")
        {
            Content = new MimeContent(new MemoryStream(headers, writable: false)),
            ContentTransferEncoding = Ascii.IsValid(headers) ? ContentEncoding.SevenBit : ContentEncoding.QuotedPrintable,
        };
        return part;
    }

    private static void Validate(DsnRequest request)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.ReportingMta);
        if (!MaySend(request.OriginalSender))
        {
            throw new ArgumentException("A DSN is never sent to the null reverse-path.", nameof(request));
        }

        if (request.Recipients.Count == 0)
        {
            throw new ArgumentException("A DSN reports at least one recipient.", nameof(request));
        }

        foreach (var r in request.Recipients)
        {
            if (!DsnText.IsStatusCode(r.Status))
            {
                throw new ArgumentException($"'{r.Status}' is not an RFC 3463 status code.", nameof(request));
            }
        }
    }

    private static FormatOptions CreateFormat()
    {
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos;
        format.International = false;
        format.EnsureNewLine = true;
        return format;
    }
}
