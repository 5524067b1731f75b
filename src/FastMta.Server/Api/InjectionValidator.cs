using System.Text;
using System.Text.RegularExpressions;
using FastMta.Inbound;
using MimeKit;

namespace FastMta.Server.Api;

/// <summary>A request that passed validation: envelope bytes ready for the spool writer, and either the raw content
/// or the attachments already decoded. Nothing is written to the spool before this exists.</summary>
internal sealed class ValidatedMessage
{
    public required byte[] Sender { get; init; }
    public required List<byte[]> Recipients { get; init; }
    public required bool SmtpUtf8 { get; init; }
    public required InjectionRequest Request { get; init; }
    public required List<(AttachmentRequest Request, byte[] Bytes, ContentType Type)> Attachments { get; init; }
}

/// <summary>Why a request was refused: the HTTP status (400 or 413) and the offending fields.</summary>
internal sealed record InjectionError(int Status, string Title, Dictionary<string, string[]> Errors)
{
    public string Detail => string.Join("; ", Errors.Select(e => $"{e.Key}: {string.Join(", ", e.Value)}"));
}

/// <summary>Checks one injection request completely before anything is spooled (nothing partial is ever queued).</summary>
internal static partial class InjectionValidator
{
    // Headers that the structured fields set, that describe the MIME structure MimeKit builds, or that only the MTA
    // may write. Bcc would leak the blind recipients to everyone: put them in `recipients` only.
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Bcc", "From", "To", "Cc", "Reply-To", "Subject", "Sender", "MIME-Version", "Received", "Return-Path",
        "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-ID", "Content-Description",
    };

    public static InjectionError? Validate(InjectionRequest? request, int maxRecipients, long maxMessageBytes, out ValidatedMessage? message)
    {
        message = null;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (request is null)
        {
            return Invalid(errors, "message", "must be a JSON object");
        }

        if (ApiInput.FieldWithNul(request) is { } nulField)
        {
            errors[nulField] = ["contains a NUL character (U+0000), which a message cannot carry"];
        }

        byte[] sender = [];
        if (request.From is null)
        {
            errors["from"] = ["required: the envelope sender (\"\" for the null sender)"];
        }
        else if (!EnvelopeAddress.TryParseSender(request.From, out sender))
        {
            errors["from"] = ["not a valid envelope address (a bare address such as bounces@example.com)"];
        }

        var recipients = new List<byte[]>();
        if (request.Recipients is not { Count: > 0 })
        {
            errors["recipients"] = ["required: at least one envelope recipient"];
        }
        else if (request.Recipients.Count > maxRecipients)
        {
            errors["recipients"] = [$"at most {maxRecipients} recipients per message (Mta:Limits:MaxRecipients)"];
        }
        else
        {
            for (int i = 0; i < request.Recipients.Count; i++)
            {
                if (request.Recipients[i] is not { } address || !EnvelopeAddress.TryParseRecipient(address, out byte[] bytes))
                {
                    errors[$"recipients[{i}]"] = ["not a valid envelope address (a bare address such as user@example.com)"];
                    continue;
                }
                recipients.Add(bytes);
            }
        }

        if (request.Pool is not null && !PoolName().IsMatch(request.Pool))
        {
            errors["pool"] = ["must be 1-64 letters, digits, '.', '_' or '-'"];
        }

        var attachments = new List<(AttachmentRequest, byte[], ContentType)>();
        bool structured = request.Subject is not null || request.HeaderFrom is not null || request.To is not null
            || request.Cc is not null || request.ReplyTo is not null || request.Text is not null || request.Html is not null
            || request.Headers is not null || request.Attachments is not null;
        if (request.Content is not null && structured)
        {
            errors["content"] = ["give either content (a raw message) or the structured fields (subject, text, html, ...), not both"];
        }
        else if (request.Content is not null)
        {
            ValidateRaw(request, errors);
        }
        else if (structured)
        {
            ValidateStructured(request, errors, attachments);
        }
        else
        {
            errors["content"] = ["required: either content (a raw RFC 5322 message) or structured fields (subject, text, html, attachments)"];
        }

        if (errors.Count > 0)
        {
            return new InjectionError(StatusCodes.Status400BadRequest, "The message is invalid.", errors);
        }

        // A cheap lower bound of the message's size; the exact size is enforced while it is written.
        long size = request.Content is not null
            ? Encoding.UTF8.GetByteCount(request.Content)
            : (long)(request.Text?.Length ?? 0) + (request.Html?.Length ?? 0) + attachments.Sum(a => (long)a.Item2.Length);
        if (size > maxMessageBytes)
        {
            return TooLarge(request.Content is not null ? "content" : "attachments", maxMessageBytes);
        }

        message = new ValidatedMessage
        {
            Sender = sender,
            Recipients = recipients,
            SmtpUtf8 = !EnvelopeAddress.IsAscii(sender) || recipients.Any(r => !EnvelopeAddress.IsAscii(r)),
            Request = request,
            Attachments = attachments,
        };
        return null;
    }

    public static InjectionError TooLarge(string field, long maxMessageBytes) =>
        new(StatusCodes.Status413PayloadTooLarge, "The message is too large.",
            new Dictionary<string, string[]> { [field] = [$"the message would exceed {maxMessageBytes} bytes (Mta:Limits:MaxMessageBytes)"] });

    private static void ValidateRaw(InjectionRequest request, Dictionary<string, string[]> errors)
    {
        if (request.Content!.Length == 0)
        {
            errors["content"] = ["must not be empty"];
        }
        else if (RawContent.HasBareCarriageReturn(request.Content))
        {
            errors["content"] = ["contains a bare CR (a CR not followed by LF): end lines with CRLF or LF"];
        }
        else if (request.Pool is not null && RawContent.HasHeader(request.Content, SmtpServerContext.PoolHeaderName))
        {
            errors["content"] = ["has an X-FastMta-Pool header and `pool` is given: use one or the other"];
        }
    }

    private static void ValidateStructured(InjectionRequest request, Dictionary<string, string[]> errors,
        List<(AttachmentRequest, byte[], ContentType)> attachments)
    {
        if (request.Text is null && request.Html is null && request.Attachments is not { Count: > 0 })
        {
            errors["text"] = ["a structured message needs text, html or attachments"];
        }
        // MimeKit makes LF line ends CRLF but keeps a bare CR as it is: refused as in raw content.
        if (request.Text is not null && RawContent.HasBareCarriageReturn(request.Text))
        {
            errors["text"] = ["contains a bare CR (a CR not followed by LF): end lines with CRLF or LF"];
        }
        if (request.Html is not null && RawContent.HasBareCarriageReturn(request.Html))
        {
            errors["html"] = ["contains a bare CR (a CR not followed by LF): end lines with CRLF or LF"];
        }
        if (request.HeaderFrom is not null && !MailboxAddress.TryParse(request.HeaderFrom, out _))
        {
            errors["headerFrom"] = ["not a valid address (e.g. \"Example <news@example.com>\")"];
        }
        else if (request.HeaderFrom is null && request.From is { Length: 0 })
        {
            errors["headerFrom"] = ["required when the envelope sender is null"];
        }
        CheckAddresses(request.To, "to", errors);
        CheckAddresses(request.Cc, "cc", errors);
        CheckAddresses(request.ReplyTo, "replyTo", errors);
        if (request.Subject is not null && request.Subject.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            errors["subject"] = ["must not contain CR or LF"];
        }
        foreach (var (name, value) in request.Headers ?? [])
        {
            if (!FieldName().IsMatch(name))
            {
                errors[$"headers.{name}"] = ["not a valid header field name"];
            }
            else if (ReservedHeaders.Contains(name) || name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)
                     || name.StartsWith("X-FastMta-", StringComparison.OrdinalIgnoreCase))
            {
                errors[$"headers.{name}"] = ["this header may not be set here (use the dedicated field; Bcc: list the address in recipients only)"];
            }
            else if (value is null || value.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                errors[$"headers.{name}"] = ["the value must be a string without CR or LF"];
            }
        }
        for (int i = 0; i < (request.Attachments?.Count ?? 0); i++)
        {
            string key = $"attachments[{i}]";
            AttachmentRequest? attachment = request.Attachments![i];
            if (attachment is null)
            {
                errors[key] = ["must be an object"];
                continue;
            }
            ContentType? type = null;
            if (attachment.Filename is not { Length: > 0 } || attachment.Filename.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                errors[key + ".filename"] = ["required, without CR or LF"];
            }
            if (attachment.ContentType is not null && !ContentType.TryParse(attachment.ContentType, out type))
            {
                errors[key + ".contentType"] = ["not a MIME type such as application/pdf"];
            }
            byte[] bytes = [];
            if (attachment.Content is null)
            {
                errors[key + ".content"] = ["required (base64)"];
            }
            else
            {
                try
                {
                    bytes = Convert.FromBase64String(attachment.Content);
                }
                catch (FormatException)
                {
                    errors[key + ".content"] = ["not valid base64"];
                }
            }
            attachments.Add((attachment, bytes, type ?? new ContentType("application", "octet-stream")));
        }
    }

    private static void CheckAddresses(List<string>? list, string field, Dictionary<string, string[]> errors)
    {
        for (int i = 0; i < (list?.Count ?? 0); i++)
        {
            if (list![i] is not { } text || !MailboxAddress.TryParse(text, out _))
            {
                errors[$"{field}[{i}]"] = ["not a valid address"];
            }
        }
    }

    private static InjectionError Invalid(Dictionary<string, string[]> errors, string field, string message)
    {
        errors[field] = [message];
        return new InjectionError(StatusCodes.Status400BadRequest, "The message is invalid.", errors);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex PoolName();

    // RFC 5322 3.6.8: printable US-ASCII except ':'.
    [GeneratedRegex("^[!-9;-~]{1,76}$")]
    private static partial Regex FieldName();
}
