namespace FastMta.Queue;

/// <summary>
/// One line of the delivery log and the unit other consumers (reputation, webhooks) subscribe to. Recipient events
/// (Delivery, TransientFailure, Bounce, Expiration) carry one <see cref="Recipient"/>; a Reception carries
/// <see cref="RecipientCount"/> and <see cref="ClientAddress"/> instead, so accepting a 1,000-recipient message is
/// one event, not 1,000. Immutable once published: sinks may hold it after Publish returns.
/// </summary>
public sealed class DeliveryEvent
{
    public required DeliveryEventType Type { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The spool id of the message.</summary>
    public required string MessageId { get; init; }

    /// <summary>The envelope sender; empty for the null reverse-path (bounces).</summary>
    public required string Sender { get; init; }

    /// <summary>The envelope recipient; null for a Reception.</summary>
    public string? Recipient { get; init; }

    /// <summary>Envelope recipients of the message; set for a Reception only.</summary>
    public int? RecipientCount { get; init; }

    /// <summary>The recipient's domain; null for a Reception.</summary>
    public string? Domain { get; init; }

    /// <summary>The egress pool the message leaves from; null for a Reception.</summary>
    public string? Pool { get; init; }

    /// <summary>The name of the egress source the attempt was admitted from; null without an attempt (Reception, an
    /// administrator's bounce or delete).</summary>
    public string? Source { get; init; }

    /// <summary>The traffic shaping rule in force for the attempt; null without an attempt.</summary>
    public string? Rule { get; init; }

    /// <summary>The shaping site (from the MX set) the attempt was made under; null without an attempt.</summary>
    public string? Site { get; init; }

    /// <summary>The host name of the server that answered; null when none was reached.</summary>
    public string? RemoteHost { get; init; }

    public string? RemoteAddress { get; init; }

    /// <summary>The local (egress) address the attempt was made from.</summary>
    public string? SourceAddress { get; init; }

    /// <summary>The SMTP client's address, for a Reception.</summary>
    public string? ClientAddress { get; init; }

    public int? ReplyCode { get; init; }

    /// <summary>RFC 3463 status such as "5.1.1".</summary>
    public string? EnhancedStatus { get; init; }

    /// <summary>The reply text (or the local failure's description). Never message content.</summary>
    public string? Response { get; init; }

    /// <summary>The attempt number for this recipient, from 1; 0 for a Reception or an Expiration without attempt.</summary>
    public int Attempt { get; init; }

    /// <summary>The message size in bytes as spooled.</summary>
    public long Size { get; init; }

    /// <summary>Seconds from reception to this event.</summary>
    public double QueueTime { get; init; }

    /// <summary>Seconds the attempt took (connection setup included); 0 when there was no attempt.</summary>
    public double Duration { get; init; }
}
