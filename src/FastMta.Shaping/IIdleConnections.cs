namespace FastMta.Shaping;

/// <summary>
/// What the outbound connection pool publishes about connections already open, as the shaper reads it. Asked only
/// when a rule's ConnectionsPerMinute has no token left: an attempt that will go over an open, idle connection opens
/// nothing, so the connection rate does not hold it back. The answer is a hint (another attempt may take that
/// connection first); <see cref="ITrafficShaper.ConnectionsOpened"/> settles the difference after the attempt.
/// </summary>
public interface IIdleConnections
{
    /// <summary>Whether a delivery to <paramref name="domain"/> from <paramref name="source"/> would now reuse an
    /// open connection instead of opening one. Called under the queue's lock: answers from published state only,
    /// without blocking, taking a lock, doing I/O or starting a lookup.</summary>
    bool HasIdleConnection(EgressSource source, string domain);
}
