namespace FastMta.Api.Contracts;

// The admin API's JSON for the queue and its destinations (GET /api/v1/queue, /queue/messages, /destinations, the
// suspend, resume, retry, bounce and delete actions). camelCase on the wire, times in ISO 8601, a null written as
// null. The server maps the queue's own view onto these records, so a change in the queue does not change the wire
// without a change here, which the CLI sees at compile time.

/// <summary>A recipient of a live message. Status: pending, in_flight (attempt running or waiting in its
/// destination's ready queue), deferred, delivered, failed.</summary>
/// <param name="NextAttempt">When a deferred recipient is retried; null for any other status.</param>
public sealed record QueuedRecipientInfo(string Address, string Domain, string Status, int Attempts, DateTimeOffset? NextAttempt);

/// <summary>A live message and every recipient's state.</summary>
/// <param name="Size">The body's length in bytes.</param>
/// <param name="Pool">The egress pool it leaves from.</param>
public sealed record QueuedMessageInfo(string Id, string Sender, DateTimeOffset ReceivedAt, long Size, IReadOnlyList<QueuedRecipientInfo> Recipients,
    string Pool);

/// <summary>Queued recipients of one destination domain.</summary>
/// <param name="NextAttempt">The earliest retry of its deferred recipients; null when none is deferred.</param>
/// <param name="SuspendedUntil">Null both when the domain is not suspended and when it is suspended until resumed;
/// GET /api/v1/destinations/suspended tells the two apart.</param>
public sealed record DestinationSummary(string Domain, int Messages, int Pending, int InFlight, int Deferred, int ActiveAttempts,
    DateTimeOffset? NextAttempt, DateTimeOffset? SuspendedUntil);

/// <summary>GET /api/v1/queue: queued recipients by state, and by destination domain (largest first, at most the
/// request's limit; <paramref name="DestinationCount"/> counts them all).</summary>
public sealed record QueueSummary(int Messages, int Pending, int InFlight, int Deferred, int DestinationCount, IReadOnlyList<DestinationSummary> Destinations);

/// <summary>One destination queue (pool, domain) for GET /api/v1/destinations.</summary>
/// <param name="Site">The MX set shaping rules match on; null until resolved (or without shaping).</param>
/// <param name="Rule">The shaping rule in force for it; null until its site is known (or without shaping).</param>
/// <param name="WaitingTransactions">Planned transactions waiting for their turn.</param>
/// <param name="ShapedUntil">Traffic shaping holds the destination until then (the next token or warmup day).</param>
/// <param name="WaitingForConnection">Traffic shaping holds it until a connection slot is released.</param>
public sealed record DestinationQueueInfo(string Pool, string Domain, string? Site, string? Rule, int WaitingTransactions, int WaitingRecipients,
    int ActiveAttempts, DateTimeOffset? ShapedUntil, bool WaitingForConnection, bool Suspended);

/// <summary>What an administrative bounce or delete of a domain's mail did.</summary>
/// <param name="SkippedInFlight">Recipients left to the delivery attempt they were in.</param>
public sealed record AdminOutcome(int Messages, int Recipients, int SkippedInFlight);

/// <summary>POST /api/v1/queue/retry: how many deferred recipients were made due now.</summary>
public sealed record RetryResponse(int Recipients);

/// <summary>A destination domain's suspension (suspend, resume, GET /api/v1/destinations/suspended).</summary>
/// <param name="Until">When it ends; null: until resumed (or, from resume, no longer suspended).</param>
public sealed record SuspensionResponse(string Domain, DateTimeOffset? Until);
