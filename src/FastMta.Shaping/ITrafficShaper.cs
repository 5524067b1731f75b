namespace FastMta.Shaping;

/// <summary>
/// The traffic policy as the queue and the admin API see it: which egress source may send to which destination, and
/// when. <see cref="TrafficShaper"/> keeps its state in process; a cluster-shared implementation keeps the shared part
/// in Redis-protocol storage behind the same contract.
/// <para>
/// Contract for every implementation: <see cref="TryAdmit"/>, <see cref="Release"/>, <see cref="Match"/>,
/// <see cref="ChoosePool"/> and <see cref="HasPool"/> are called under the queue's lock, so they never block, never
/// do I/O and never call back into the caller; they allocate nothing on the hot path once a destination's state
/// exists.
/// </para>
/// </summary>
public interface ITrafficShaper
{
    /// <summary>Asks for an attempt to (domain, site) from <paramref name="pool"/>; see <see cref="Admission"/>.</summary>
    /// <param name="site">The destination's sorted, comma-joined, lower-case MX host names.</param>
    /// <param name="idle">Asked, when a rule's connection rate has no token left, whether the source has an open idle
    /// connection to the destination; null: never.</param>
    Admission TryAdmit(string pool, string domain, string site, IIdleConnections? idle = null);

    /// <summary>Frees the lease's slot. Idempotent; <c>default</c> and stale copies do nothing.</summary>
    void Release(Lease lease);

    /// <summary>After an attempt admitted with <paramref name="lease"/>: how many new connections it opened (0 when it
    /// reused one), so the connection-rate accounting matches what really happened.</summary>
    void ConnectionsOpened(Lease lease, int opened);

    /// <summary>The effective rule (inherited values filled in) for a domain and its site.</summary>
    ShapingRule Match(string domain, string site);

    /// <summary>The pool for a message: header, else the API's field, else the sender domain's pool, else "default".</summary>
    string ChoosePool(string? headerPool, string? apiPool, string senderDomain);

    bool HasPool(string pool);

    /// <summary>Stops admitting from a source until <paramref name="until"/> (or until resumed). False for an unknown source.</summary>
    bool SuspendSource(string name, DateTimeOffset? until = null);

    /// <summary>False for an unknown source.</summary>
    bool ResumeSource(string name);

    /// <summary>Replaces the configuration at run time; throws and keeps the old one when the new one is invalid.</summary>
    void Update(ShapingOptions options);

    /// <summary>Active (source, key) budgets, for the admin endpoint. Allocates; not for the hot path.</summary>
    IReadOnlyList<ShapingStateSnapshot> Snapshot();
}
