namespace FastMta.Shaping;

/// <summary>
/// Daily message caps for a new source (per destination rule), rising day by day. Day 1 is <see cref="StartDate"/>
/// (UTC); a date before it counts as day 1; after the list ends the source is unlimited. Each rule has its own count
/// against the cap, and the default rule one count for all the destinations it covers. Traffic over the cap waits
/// (for another source of the pool, or for the next UTC midnight); it is never bounced.
/// </summary>
public sealed class WarmupPlan
{
    public DateOnly StartDate { get; set; }

    /// <summary>Messages per rule on day 1, 2, ...; 0 sends nothing that day.</summary>
    public List<int> DailyCaps { get; set; } = [];

    /// <summary>Rule name to its own daily caps, replacing <see cref="DailyCaps"/> for that rule.</summary>
    public Dictionary<string, List<int>> RuleCaps { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
