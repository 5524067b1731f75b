using System.Net;

namespace FastMta.Shaping;

/// <summary>
/// A named local address outbound connections bind to. Shaping budgets are kept per
/// source: two sources to one destination have two budgets, as receivers count per sending IP.
/// </summary>
public sealed class EgressSource
{
    /// <summary>The source used when no source is configured: no address binding (the OS chooses), no warmup.</summary>
    public const string DefaultName = "default";

    public string Name { get; set; } = string.Empty;

    /// <summary>Local address to bind; null lets the OS choose (only sensible for the default source).</summary>
    public IPAddress? Address { get; set; }

    /// <summary>Name said in EHLO from this address; null means the delivery default (it should match the PTR).</summary>
    public string? EhloName { get; set; }

    /// <summary>Daily volume caps while this address builds reputation; null means none.</summary>
    public WarmupPlan? Warmup { get; set; }
}
