namespace FastMta.Shaping;

/// <summary>
/// The traffic policy as the queue and the admin API see it: which egress source may make a delivery attempt to which
/// destination, and when. <see cref="TrafficShaper"/> keeps its state in process; a cluster-shared implementation
/// keeps the shared part in Redis-protocol storage behind the same contract.
/// <para>
/// What it grants is an <see cref="AttemptSlot"/> per attempt, not a connection: the outbound connection pool alone
/// owns sockets (which one an attempt uses, open connections per receiver address, idle timeout). The queue releases
/// the slot when the attempt ends, and before that reports how many connections the attempt opened
/// (<see cref="ConnectionsOpened"/>), which settles the connection rate.
/// </para>
/// <para>
/// Contract for every implementation: <see cref="TryAdmit"/>, <see cref="Release"/>, <see cref="ConnectionsOpened"/>,
/// <see cref="Match"/>, <see cref="ChoosePool"/>, <see cref="HasPool"/> and <see cref="IsSourceSuspended"/> may be
/// called under the queue's lock, so they never block, never do I/O (a shared implementation answers from local state and
/// synchronizes off that path) and never call back into the caller; they allocate nothing on the hot path once a
/// destination's state exists. The only outside code an implementation may run there is the lock-free
/// <see cref="IIdleConnections"/> view it was given.
/// </para>
/// </summary>
public interface ITrafficShaper
{
    /// <summary>Asks for one attempt to (domain, site) from <paramref name="pool"/>; see <see cref="Admission"/>.</summary>
    /// <param name="site">The destination's sorted, comma-joined, lower-case MX host names.</param>
    Admission TryAdmit(string pool, string domain, string site);

    /// <summary>Frees the attempt's slot. Idempotent; <c>default</c> and stale copies do nothing.</summary>
    void Release(AttemptSlot slot);

    /// <summary>After an attempt admitted with <paramref name="slot"/>: how many new connections it opened (0 when it
    /// reused one), so the connection-rate accounting matches what really happened.</summary>
    void ConnectionsOpened(AttemptSlot slot, int opened);

    /// <summary>The effective rule (inherited values filled in) for a domain and its site.</summary>
    ShapingRule Match(string domain, string site);

    /// <summary>The pool for a message: header, else the API's field, else the sender domain's pool, else "default".</summary>
    string ChoosePool(string? headerPool, string? apiPool, string senderDomain);

    bool HasPool(string pool);

    /// <summary>Stops admitting from a source until <paramref name="until"/> (or until resumed). False for an unknown source.</summary>
    bool SuspendSource(string name, DateTimeOffset? until = null);

    /// <summary>False for an unknown source.</summary>
    bool ResumeSource(string name);

    /// <summary>Whether the source is suspended now; <paramref name="until"/> is the end, or null for "until resumed".
    /// False for an unknown source. The one record of source suspensions: the admin API reads it here.</summary>
    bool IsSourceSuspended(string name, out DateTimeOffset? until);

    /// <summary>Replaces the configuration at run time; throws <see cref="ShapingOptionsException"/> and keeps the old
    /// one when the new one is invalid.</summary>
    void Update(ShapingOptions options);

    /// <summary>Active (source, key) budgets, for the admin endpoint. Allocates; not for the hot path.</summary>
    IReadOnlyList<ShapingStateSnapshot> Snapshot();
}
