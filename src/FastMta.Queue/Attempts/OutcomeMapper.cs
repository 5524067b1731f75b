using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>One recipient outcome under each of its names: what the spool records, what the delivery log says, and
/// the metric tag (fastmta_delivery_recipients_total{outcome}, fastmta_outbound_recipients_total{outcome}).</summary>
public readonly record struct MappedOutcome(RecipientStatus Status, DeliveryEventType EventType, string MetricTag);

/// <summary>
/// The one mapping from the agent's <see cref="RecipientOutcome"/> to the spool's, the delivery log's and the metrics'
/// names for it. A deferral past the message's lifetime is final: it expires (and is bounced).
/// </summary>
public static class OutcomeMapper
{
    private static readonly MappedOutcome Delivered = new(RecipientStatus.Delivered, DeliveryEventType.Delivery, "delivered");
    private static readonly MappedOutcome Failed = new(RecipientStatus.Failed, DeliveryEventType.Bounce, "failed");
    private static readonly MappedOutcome Expired = new(RecipientStatus.Failed, DeliveryEventType.Expiration, "expired");
    private static readonly MappedOutcome Deferred = new(RecipientStatus.Deferred, DeliveryEventType.TransientFailure, "deferred");

    /// <param name="expired">The recipient's queue lifetime is over: a deferral becomes an expiration.</param>
    public static MappedOutcome Map(RecipientOutcome outcome, bool expired) => outcome switch
    {
        RecipientOutcome.Delivered => Delivered,
        RecipientOutcome.Failed => Failed,
        _ => expired ? Expired : Deferred,
    };

    /// <summary>The metric tag of an attempt's outcome, before the queue applies the lifetime (delivered, failed, deferred).</summary>
    public static string MetricTag(RecipientOutcome outcome) => Map(outcome, expired: false).MetricTag;
}
