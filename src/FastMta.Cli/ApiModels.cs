namespace FastMta.Cli;

// Mirrors of the admin API's JSON (FastMta.Queue's admin records and the server's small responses). The CLI does not
// reference the server: these are the wire contract as the CLI reads it, camelCase, times in ISO 8601.

internal sealed record QueuedRecipientInfo(string Address, string Domain, string Status, int Attempts, DateTimeOffset? NextAttempt);

internal sealed record QueuedMessageInfo(string Id, string Sender, DateTimeOffset ReceivedAt, long Size, IReadOnlyList<QueuedRecipientInfo> Recipients,
    string? Pool);

/// <summary>SuspendedUntil is null both when the domain is not suspended and when it is suspended until resumed; the
/// suspensions list tells the two apart.</summary>
internal sealed record DestinationSummary(string Domain, int Messages, int Pending, int InFlight, int Deferred, int ActiveAttempts,
    DateTimeOffset? NextAttempt, DateTimeOffset? SuspendedUntil);

internal sealed record QueueSummary(int Messages, int Pending, int InFlight, int Deferred, int DestinationCount, IReadOnlyList<DestinationSummary> Destinations);

internal sealed record AdminOutcome(int Messages, int Recipients, int SkippedInFlight);

internal sealed record RetryResponse(int Recipients);

/// <summary>Until null: suspended until resumed.</summary>
internal sealed record SuspensionResponse(string Domain, DateTimeOffset? Until);

internal sealed record InjectionResponse(string Id);
