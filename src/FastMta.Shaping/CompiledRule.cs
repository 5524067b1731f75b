namespace FastMta.Shaping;

/// <summary>A rule with inherited values filled in and its rates turned into GCRA cells.</summary>
internal sealed class CompiledRule
{
    public CompiledRule(ShapingRule rule, ShapingRule defaults, bool isDefault, long frequency)
    {
        IsDefault = isDefault;
        Name = isDefault ? ShapingRule.DefaultName : rule.Name;
        // The effective rule, as handed to callers in Admission.Rule: nulls inherit the default rule's values.
        Options = new ShapingRule
        {
            Name = Name,
            Match = rule.Match ?? new ShapingMatch(),
            PerDomain = !isDefault && rule.PerDomain,
            MessagesPerSecond = rule.MessagesPerSecond ?? defaults.MessagesPerSecond,
            MessagesPerMinute = rule.MessagesPerMinute ?? defaults.MessagesPerMinute,
            MessagesPerHour = rule.MessagesPerHour ?? defaults.MessagesPerHour,
            Burst = rule.Burst ?? defaults.Burst,
            MaxConnections = rule.MaxConnections ?? defaults.MaxConnections,
            MaxMessagesPerConnection = rule.MaxMessagesPerConnection ?? defaults.MaxMessagesPerConnection,
            MaxRecipientsPerTransaction = rule.MaxRecipientsPerTransaction ?? defaults.MaxRecipientsPerTransaction,
            ConnectionsPerMinute = rule.ConnectionsPerMinute ?? defaults.ConnectionsPerMinute,
            SourceTotal = rule.SourceTotal ?? (isDefault ? null : defaults.SourceTotal),
        };
        ShapingRule o = Options;
        Limits = new CompiledLimits(o.MessagesPerSecond, o.MessagesPerMinute, o.MessagesPerHour, o.Burst, o.MaxConnections, frequency);
        Connect = o.ConnectionsPerMinute is int perMinute ? new RateCell(perMinute, frequency * 60, perMinute, 60) : default;
        MaxMessagesPerConnection = o.MaxMessagesPerConnection ?? int.MaxValue;
        if (o.SourceTotal is { } total)
        {
            Total = new CompiledLimits(total.MessagesPerSecond, total.MessagesPerMinute, total.MessagesPerHour, total.Burst, total.MaxConnections, frequency);
        }
    }

    public string Name { get; }

    public bool IsDefault { get; }

    public ShapingRule Options { get; }

    public CompiledLimits Limits { get; }

    public RateCell Connect { get; }

    public int MaxMessagesPerConnection { get; }

    public CompiledLimits? Total { get; }

    /// <summary>The budget scope for a destination (see <see cref="ShapingRule"/>'s remarks).</summary>
    public string Scope(string domain, string site, bool matchedByMx) =>
        IsDefault ? site : Options.PerDomain && !matchedByMx ? domain : string.Empty;
}
