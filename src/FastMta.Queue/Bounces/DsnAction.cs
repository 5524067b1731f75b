namespace FastMta.Queue;

/// <summary>
/// The RFC 3464 §2.3.3 Action values a bounce reports. Only the two a relay sends on its own: "delivered", "relayed"
/// and "expanded" are for NOTIFY=SUCCESS, which FastMta does not offer.
/// </summary>
internal enum DsnAction
{
    /// <summary>"failed": the message will not be delivered to this recipient (5xx, or the queue lifetime ran out).</summary>
    Failed,

    /// <summary>"delayed": delivery is still being retried; a warning, not a bounce.</summary>
    Delayed,
}
