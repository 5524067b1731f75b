namespace FastMta.Shaping;

/// <summary>
/// Limits for the destinations a rule matches, each applied per (source, destination
/// key). A null property of a named rule inherits the default rule's value.
/// </summary>
/// <remarks>
/// The destination key decides which traffic shares one budget:
/// <list type="bullet">
/// <item>A rule matched by MX suffix shares one budget for every domain it matches (key = rule name): that is the
/// point of the MX roll-up, since the receiver counts all of them against one sending IP.</item>
/// <item>A rule matched by domain or domain suffix also keys on the rule name (one budget per rule, so a rule listing
/// gmail.com and googlemail.com shares one budget), unless <see cref="PerDomain"/> is set: then each recipient
/// domain has its own budget with these limits.</item>
/// <item>The default rule keys per site (the MX host set), so unrelated small domains never share a budget while
/// domains hosted together do.</item>
/// </list>
/// Rates count messages (SMTP transactions); <see cref="MaxRecipientsPerTransaction"/> is for the caller's batching.
/// </remarks>
public sealed class ShapingRule
{
    /// <summary>The name the default rule always has, in metrics and snapshots.</summary>
    public const string DefaultName = "default";

    public string Name { get; set; } = string.Empty;

    public ShapingMatch Match { get; set; } = new();

    /// <summary>One budget per recipient domain instead of one per rule (ignored by MX matches and the default rule).</summary>
    public bool PerDomain { get; set; }

    public int? MessagesPerSecond { get; set; }

    public int? MessagesPerMinute { get; set; }

    public int? MessagesPerHour { get; set; }

    /// <summary>
    /// Bucket size of the finest configured message rate (how many may leave at once after a quiet spell); defaults
    /// to that rate's count. Coarser rates have buckets of their own count.
    /// </summary>
    public int? Burst { get; set; }

    /// <summary>
    /// Delivery attempts in flight at once per (source, destination key), each carried by one connection: the
    /// connections in use. An idle pooled connection is not counted; since the pool reuses an idle connection before it
    /// opens one, a destination with one receiver address never has more connections open than this from a source.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>Messages sent over one connection before it is closed: handed with each attempt to the connection pool,
    /// which enforces it.</summary>
    public int? MaxMessagesPerConnection { get; set; }

    /// <summary>Recipients in one SMTP transaction; the shaper reports it, the caller batches by it.</summary>
    public int? MaxRecipientsPerTransaction { get; set; }

    /// <summary>New connections opened (or tried) per minute per (source, destination key); the bucket holds one minute's
    /// worth. An attempt over an idle pooled connection needs no token; each attempt's real count settles it.</summary>
    public int? ConnectionsPerMinute { get; set; }

    /// <summary>Limits on each source's total over every key of this rule; null is none.</summary>
    public SourceTotalLimits? SourceTotal { get; set; }
}
