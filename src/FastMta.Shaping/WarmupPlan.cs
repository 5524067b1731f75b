namespace FastMta.Shaping;

/// <summary>
/// Daily (and optionally hourly) message caps for a new source (per destination rule), rising day by day. Day 1 is
/// <see cref="StartDate"/> (UTC); a date before it counts as day 1; after a list ends its cap no longer applies. Each
/// rule has its own counts against the caps, and the default rule one count for all the destinations it covers.
/// Traffic over a cap waits (for another source of the pool, the next UTC hour, or the next UTC midnight); it is never
/// bounced. Hourly caps spread a day's volume, as receivers judge a new IP by its bursts as well as its daily total.
/// </summary>
public sealed class WarmupPlan
{
    public DateOnly StartDate { get; set; }

    /// <summary>Messages per rule on day 1, 2, ...; 0 sends nothing that day.</summary>
    public List<int> DailyCaps { get; set; } = [];

    /// <summary>Rule name to its own daily caps, replacing <see cref="DailyCaps"/> for that rule.</summary>
    public Dictionary<string, List<int>> RuleCaps { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Messages per rule in each UTC hour of day 1, 2, ...; none: no hourly cap.</summary>
    public List<int> HourlyCaps { get; set; } = [];

    /// <summary>Rule name to its own hourly caps, replacing <see cref="HourlyCaps"/> for that rule.</summary>
    public Dictionary<string, List<int>> RuleHourlyCaps { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}
