using System.Globalization;
using System.Text.Json;

namespace FastMta.Queue;

/// <summary>
/// Writes a <see cref="DeliveryEvent"/> as one JSON object: camelCase names, absent values omitted, the timestamp as
/// ISO 8601 UTC with milliseconds, durations in seconds to the millisecond. Hand-written rather than
/// JsonSerializer so the format is fixed here (it is a public interface for log tools) and costs no reflection.
/// </summary>
public static class DeliveryEventJson
{
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText MessageId = JsonEncodedText.Encode("messageId");
    private static readonly JsonEncodedText Sender = JsonEncodedText.Encode("sender");
    private static readonly JsonEncodedText Recipient = JsonEncodedText.Encode("recipient");
    private static readonly JsonEncodedText RecipientCount = JsonEncodedText.Encode("recipientCount");
    private static readonly JsonEncodedText Domain = JsonEncodedText.Encode("domain");
    private static readonly JsonEncodedText Pool = JsonEncodedText.Encode("pool");
    private static readonly JsonEncodedText Source = JsonEncodedText.Encode("source");
    private static readonly JsonEncodedText Rule = JsonEncodedText.Encode("rule");
    private static readonly JsonEncodedText Site = JsonEncodedText.Encode("site");
    private static readonly JsonEncodedText RemoteHost = JsonEncodedText.Encode("remoteHost");
    private static readonly JsonEncodedText RemoteAddress = JsonEncodedText.Encode("remoteAddress");
    private static readonly JsonEncodedText SourceAddress = JsonEncodedText.Encode("sourceAddress");
    private static readonly JsonEncodedText ClientAddress = JsonEncodedText.Encode("clientAddress");
    private static readonly JsonEncodedText ReplyCode = JsonEncodedText.Encode("replyCode");
    private static readonly JsonEncodedText EnhancedStatus = JsonEncodedText.Encode("enhancedStatus");
    private static readonly JsonEncodedText Response = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText Attempt = JsonEncodedText.Encode("attempt");
    private static readonly JsonEncodedText Size = JsonEncodedText.Encode("size");
    private static readonly JsonEncodedText QueueTime = JsonEncodedText.Encode("queueTime");
    private static readonly JsonEncodedText Duration = JsonEncodedText.Encode("duration");

    // Indexed by the enum value; the names are the enum's, as KumoMTA's log records name their types.
    private static readonly JsonEncodedText[] TypeNames =
        [.. Enum.GetValues<DeliveryEventType>().Select(t => JsonEncodedText.Encode(t.ToString()))];

    /// <summary>Writes <paramref name="e"/> as one JSON object: a delivery-log line, or an element of a webhook's batch.</summary>
    public static void Write(Utf8JsonWriter json, DeliveryEvent e)
    {
        json.WriteStartObject();
        json.WriteString(Type, TypeNames[(int)e.Type]);
        Span<byte> time = stackalloc byte[32];
        e.Timestamp.UtcDateTime.TryFormat(time, out var length, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        json.WriteString(Timestamp, time[..length]);
        json.WriteString(MessageId, e.MessageId);
        json.WriteString(Sender, e.Sender);
        Optional(json, Recipient, e.Recipient);
        if (e.RecipientCount is { } count)
        {
            json.WriteNumber(RecipientCount, count);
        }

        Optional(json, Domain, e.Domain);
        Optional(json, Pool, e.Pool);
        Optional(json, Source, e.Source);
        Optional(json, Rule, e.Rule);
        Optional(json, Site, e.Site);
        Optional(json, RemoteHost, e.RemoteHost);
        Optional(json, RemoteAddress, e.RemoteAddress);
        Optional(json, SourceAddress, e.SourceAddress);
        Optional(json, ClientAddress, e.ClientAddress);
        if (e.ReplyCode is { } code)
        {
            json.WriteNumber(ReplyCode, code);
        }

        Optional(json, EnhancedStatus, e.EnhancedStatus);
        Optional(json, Response, e.Response);
        json.WriteNumber(Attempt, e.Attempt);
        json.WriteNumber(Size, e.Size);
        json.WriteNumber(QueueTime, Math.Round(e.QueueTime, 3));
        json.WriteNumber(Duration, Math.Round(e.Duration, 3));
        json.WriteEndObject();
    }

    private static void Optional(Utf8JsonWriter json, JsonEncodedText name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
