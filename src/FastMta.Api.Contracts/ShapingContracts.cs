namespace FastMta.Api.Contracts;

// The admin API's JSON for traffic shaping (GET /api/v1/shaping, POST /api/v1/sources/{name}/suspend|resume).

/// <summary>An egress source as GET /api/v1/shaping shows it.</summary>
/// <param name="Address">The local address it binds; null: the system's choice.</param>
/// <param name="SuspendedUntil">When its suspension ends; null when not suspended or suspended until resumed.</param>
public sealed record SourceResponse(string Name, string? Address, string? EhloName, bool Suspended, DateTimeOffset? SuspendedUntil);

/// <summary>GET /api/v1/shaping: the sources, the rules, and the first <c>limit</c> active budgets by source, rule,
/// key (<paramref name="ActiveStates"/> counts them all).</summary>
public sealed record ShapingResponse(
    IReadOnlyList<SourceResponse> Sources,
    IReadOnlyList<string> SuspendedSources,
    IReadOnlyList<string> Rules,
    int ActiveStates,
    IReadOnlyList<ShapingState> States);

/// <summary>
/// The live state of one active (source, rule, destination key) budget. Key is the rule name for a per-rule budget,
/// the domain for a PerDomain rule, the site for the default rule, and "*" for a rule's SourceTotal. Tokens and rate
/// describe the finest configured message rate (null when the rule sets none).
/// </summary>
public sealed record ShapingState(
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
    long WarmupSentThisHour,
    int? WarmupHourlyCap);

/// <summary>An egress source suspended or resumed; <paramref name="Until"/> null: until resumed (or resumed now).</summary>
public sealed record SourceSuspensionResponse(string Source, bool Suspended, DateTimeOffset? Until);
