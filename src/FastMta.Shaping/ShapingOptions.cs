namespace FastMta.Shaping;

/// <summary>
/// Everything the shaper enforces. Where the values come from is the host's business: <see cref="Validate"/> names the
/// field at fault by its path in these options (<see cref="ShapingOptionsException.FieldPath"/>), which the host maps
/// to its own configuration key.
/// </summary>
public sealed class ShapingOptions
{
    /// <summary>Egress sources; none configured means one <see cref="EgressSource.DefaultName"/> source without binding.</summary>
    public List<EgressSource> Sources { get; set; } = [];

    /// <summary>Pools; without a "default" pool, the default pool holds every source with weight 1.</summary>
    public List<EgressPool> Pools { get; set; } = [];

    public List<ShapingRule> Rules { get; set; } = [];

    /// <summary>Applies when no rule matches; its name is always "default" and its Match must be empty.</summary>
    public ShapingRule DefaultRule { get; set; } = new()
    {
        Name = ShapingRule.DefaultName,
        MaxConnections = 20,
        MaxMessagesPerConnection = 100,
        MaxRecipientsPerTransaction = 100,
    };

    /// <summary>Sender (MAIL FROM) domain to pool name, used when a message names no pool.</summary>
    public Dictionary<string, string> SenderDomainPools { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Throws <see cref="ShapingOptionsException"/> naming the first invalid field.</summary>
    public void Validate() => ShapingOptionsValidator.Validate(this);
}
