using System.Net;

namespace FastMta.Outbound.Dns;

public enum ResolutionStatus
{
    /// <summary><see cref="Destination.Hosts"/> holds at least one address to try.</summary>
    Resolved,

    /// <summary>SERVFAIL, timeout, no address yet: try again later (4.4.3).</summary>
    TemporaryFailure,

    /// <summary>NXDOMAIN (5.1.2), null MX (5.1.10), MX hosts that do not exist: fail now.</summary>
    PermanentFailure,
}

/// <summary>One address to connect to, in the order to try it.</summary>
/// <param name="Name">The MX host name without the trailing dot (or the route host / domain for A fallback).</param>
public sealed record DestinationHost(string Name, IPAddress Address, int Port, int Preference);

/// <summary>Where mail for a domain goes, or why it cannot go anywhere.</summary>
public sealed class Destination
{
    public required ResolutionStatus Status { get; init; }

    /// <summary>Ordered: ascending preference, random order among equal preferences, each host's addresses in turn.</summary>
    public IReadOnlyList<DestinationHost> Hosts { get; init; } = [];

    /// <summary>
    /// The sorted, comma-joined MX host names (or the route), so that all domains hosted by one provider share one
    /// name (traffic shaping keys on it).
    /// </summary>
    public string Site { get; init; } = "";

    /// <summary>RFC 3463 code for failures ("5.1.2", "5.1.10", "4.4.3"); empty when resolved.</summary>
    public string EnhancedStatus { get; init; } = "";

    /// <summary>Human-readable reason for failures, for the delivery log and DSNs.</summary>
    public string Detail { get; init; } = "";
}

public interface IDestinationResolver
{
    /// <summary>Never throws for DNS problems; they are <see cref="ResolutionStatus"/> values.</summary>
    ValueTask<Destination> ResolveAsync(string domain, CancellationToken cancellationToken);

    /// <summary>The answer <see cref="ResolveAsync"/> would give now without a lookup (cached, routed or literal), or
    /// false when it would have to look up: never starts one, never blocks. A resolver without a cache says false.</summary>
    bool TryResolveWithoutLookup(string domain, out Destination destination)
    {
        destination = null!;
        return false;
    }
}
