namespace FastMta.Shaping;

/// <summary>
/// Everything the shaper enforces. Sources, pools and sender-domain pools are bound from Mta:Egress, rules from
/// Mta:Shaping; <see cref="Validate"/> names those keys in its messages.
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

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid configuration key.</summary>
    public void Validate() => ShapingOptionsValidator.Validate(this);
}
