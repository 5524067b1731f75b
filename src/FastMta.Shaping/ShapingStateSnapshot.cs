namespace FastMta.Shaping;

/// <summary>
/// The live state of one active (source, destination key), for the admin endpoint. Key is the rule name for a
/// per-rule budget, the domain for a PerDomain rule, the site for the default rule, and "*" for a rule's SourceTotal.
/// Tokens and rate describe the finest configured message rate (null when the rule sets none).
/// </summary>
public sealed record ShapingStateSnapshot(
    string Source,
    string Rule,
    string Key,
    double? MessagesPerSecond,
    long? TokensAvailable,
    DateTimeOffset? NextTokenAt,
    int ConnectionsInUse,
    int? MaxConnections,
    long WarmupSentToday,
    int? WarmupCapToday,
    long WarmupSentThisHour = 0,
    int? WarmupHourlyCap = null);
