using System.ComponentModel;
using System.Text.Json.Serialization;

namespace FastMta.Api.Contracts;

// The HTTP injection API's JSON contract (camelCase on the wire). OpenAPI describes these records, so the
// [Description]s are the field documentation clients see.

/// <summary>One message to queue: either raw <c>content</c> or the structured fields (subject, text, html, ...).</summary>
public sealed record InjectionRequest
{
    [Description("Envelope sender (MAIL FROM), a bare address such as bounces@example.com; \"\" is the null sender.")]
    public string? From { get; init; }

    [Description("Envelope recipients (RCPT TO), bare addresses.")]
    public List<string>? Recipients { get; init; }

    [Description("Egress pool for traffic shaping (Mta:Egress:Pools); kept in the envelope, 400 when not configured.")]
    public string? Pool { get; init; }

    [Description("Free-form tags, echoed back in the response (not yet stored or used).")]
    public Dictionary<string, string>? Tags { get; init; }

    [Description("A complete RFC 5322 message (headers, blank line, body). LF and CRLF line ends become CRLF; a bare CR (not followed by LF) is refused; sent as UTF-8.")]
    [JsonConverter(typeof(LargeStringConverter))]
    public string? Content { get; init; }

    [Description("Subject (structured form).")]
    public string? Subject { get; init; }

    [Description("The From: header, e.g. \"Example <news@example.com>\"; defaults to the envelope sender.")]
    public string? HeaderFrom { get; init; }

    [Description("The To: header's addresses; defaults to the recipients.")]
    public List<string>? To { get; init; }

    [Description("The Cc: header's addresses (add them to recipients too for them to receive the message).")]
    public List<string>? Cc { get; init; }

    [Description("The Reply-To: header's addresses.")]
    public List<string>? ReplyTo { get; init; }

    [Description("Plain-text body.")]
    [JsonConverter(typeof(LargeStringConverter))]
    public string? Text { get; init; }

    [Description("HTML body.")]
    [JsonConverter(typeof(LargeStringConverter))]
    public string? Html { get; init; }

    [Description("Extra headers (name → value). Bcc, Content-*, MIME-Version, Received, Return-Path, X-FastMta-* and the headers set by other fields are refused.")]
    public Dictionary<string, string>? Headers { get; init; }

    [Description("Attachments.")]
    public List<AttachmentRequest>? Attachments { get; init; }
}

public sealed record AttachmentRequest
{
    [Description("File name shown to the recipient.")]
    public string? Filename { get; init; }

    [Description("MIME type; default application/octet-stream.")]
    public string? ContentType { get; init; }

    [Description("The file, base64.")]
    [JsonConverter(typeof(LargeStringConverter))]
    public string? Content { get; init; }
}

public sealed record BatchInjectionRequest
{
    [Description("Up to 100 messages, each validated and queued independently.")]
    public List<InjectionRequest?>? Messages { get; init; }
}

/// <summary>202: the message is durably spooled (the same promise as SMTP's 250).</summary>
public sealed record InjectionAccepted(
    [property: Description("Spool id (the id SMTP's 250 reply names and the delivery log uses).")] string Id,
    [property: Description("Number of envelope recipients queued.")] int Recipients,
    [property: Description("The request's tags, echoed (not yet stored)."), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyDictionary<string, string>? Tags);

public sealed record BatchInjectionResponse(IReadOnlyList<BatchItemResult> Results);

/// <summary>One message of a batch: status 202 with an id, or a 4xx/503 status with the reason.</summary>
public sealed record BatchItemResult(
    [property: Description("Position of the message in the request's `messages`.")] int Index,
    [property: Description("202 (queued), 400, 413 or 503, as the single-message endpoint would have answered.")] int Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Id = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Recipients = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Tags = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IDictionary<string, string[]>? Errors = null);
