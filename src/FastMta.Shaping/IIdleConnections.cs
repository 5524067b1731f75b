namespace FastMta.Shaping;

/// <summary>
/// What the outbound side knows about connections already open. Traffic shaping asks it only when a rule's
/// ConnectionsPerMinute has no token left: an attempt that will go over an open, idle connection opens nothing, so
/// the connection rate does not hold it back.
/// </summary>
public interface IIdleConnections
{
    /// <summary>Whether a delivery to <paramref name="domain"/> from <paramref name="source"/> would now reuse an
    /// open connection instead of opening one. Must not block or do I/O.</summary>
    bool HasIdleConnection(EgressSource source, string domain);
}
