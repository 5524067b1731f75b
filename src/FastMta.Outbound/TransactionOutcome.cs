using FastMta.Queue;

namespace FastMta.Outbound;

/// <summary>What one transaction on one connection came to.</summary>
/// <param name="Recipients">One result per request recipient, same order.</param>
/// <param name="Failure">Set when the connection died during the transaction (the unsettled recipients are deferred with it).</param>
/// <param name="Started">False when the connection failed before the receiver answered MAIL FROM: nothing was settled,
/// so a stale pooled connection may be replaced and the transaction retried.</param>
public sealed record TransactionOutcome(IReadOnlyList<RecipientResult> Recipients, OutboundConnectionException? Failure, bool Started);
