namespace FastMta.Shaping;

/// <summary>One source in a pool with its share of the pool's traffic.</summary>
public sealed class PoolMember
{
    public string SourceName { get; set; } = string.Empty;

    /// <summary>Relative share: weights 3 and 1 send three messages from the first for each from the second.</summary>
    public int Weight { get; set; } = 1;
}
