namespace FastMta.Queue;

/// <summary>
/// What happened. The names are written to the delivery log and read by tools and later by Reputation: append new
/// values only, never rename or renumber (Complaint and Suppressed are expected to follow).
/// </summary>
public enum DeliveryEventType
{
    /// <summary>A message was accepted and spooled (one event per message, not per recipient).</summary>
    Reception = 0,

    /// <summary>A recipient was accepted by the receiving server (2xx).</summary>
    Delivery = 1,

    /// <summary>An attempt failed temporarily (4xx, DNS or connection trouble); the recipient stays queued.</summary>
    TransientFailure = 2,

    /// <summary>A recipient failed permanently (5xx or a permanent local failure); a DSN follows if allowed.</summary>
    Bounce = 3,

    /// <summary>A recipient was still undelivered when its queue lifetime ran out.</summary>
    Expiration = 4,
}
