namespace FastMta.Shaping;

/// <summary>
/// Limits on one source's traffic summed over every destination key of a rule (for the default rule: over every
/// site it covers). Useful with <see cref="ShapingRule.PerDomain"/> and for the default rule, whose budgets are
/// otherwise per domain or per site. Null properties are unlimited.
/// </summary>
public sealed class SourceTotalLimits
{
    public int? MessagesPerSecond { get; set; }

    public int? MessagesPerMinute { get; set; }

    public int? MessagesPerHour { get; set; }

    /// <summary>Bucket size of the finest configured rate; defaults to that rate's count.</summary>
    public int? Burst { get; set; }

    /// <summary>Attempts in flight at once over every key of the rule (see <see cref="ShapingRule.MaxConnections"/>).</summary>
    public int? MaxConnections { get; set; }
}
