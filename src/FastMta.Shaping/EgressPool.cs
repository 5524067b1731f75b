namespace FastMta.Shaping;

/// <summary>
/// A named set of sources with weights. Traffic in a pool is spread over its members
/// by smooth weighted round-robin, skipping members that are suspended or out of budget.
/// </summary>
public sealed class EgressPool
{
    /// <summary>
    /// The pool used when a message names none. When it is not configured it holds every source with weight 1.
    /// </summary>
    public const string DefaultName = "default";

    /// <summary>A pool has at most this many members (the selector tracks tried members in one 64-bit mask).</summary>
    public const int MaxMembers = 64;

    public string Name { get; set; } = string.Empty;

    public List<PoolMember> Members { get; set; } = [];
}
