using System.Net;
using Microsoft.Extensions.Logging;

namespace FastMta.Inbound;

// Source-generated log messages: structured, no formatting cost when the level is off. Never logs credentials or content.
// Event ids 5000-5999 belong to FastMta.Inbound; the ranges of every project: README, Monitoring, "Event ids".
internal static partial class Log
{
    [LoggerMessage(5001, LogLevel.Debug, "SMTP session {ConnectionId} from {Client} started")]
    public static partial void SessionStarted(ILogger logger, string connectionId, EndPoint? client);

    [LoggerMessage(5002, LogLevel.Debug, "SMTP session {ConnectionId} ended: {How}")]
    public static partial void SessionEnded(ILogger logger, string connectionId, string how);

    [LoggerMessage(5003, LogLevel.Information, "Accepted {MessageId} from {Client}: {Recipients} recipient(s), {Bytes} bytes")]
    public static partial void MessageAccepted(ILogger logger, string messageId, EndPoint? client, int recipients, long bytes);

    [LoggerMessage(5004, LogLevel.Warning, "Spool refused message from {Client} in session {ConnectionId} ({Reason}: 452 4.3.1 for NoSpace, else 451 4.3.0)")]
    public static partial void SpoolUnavailable(ILogger logger, Exception exception, EndPoint? client, string connectionId, FastMta.Spool.SpoolUnavailableReason reason);

    [LoggerMessage(5005, LogLevel.Warning, "Discarded {Bytes} plaintext bytes pipelined after STARTTLS from {Client} (CVE-2011-0411 defence)")]
    public static partial void DiscardedAfterStartTls(ILogger logger, long bytes, EndPoint? client);

    [LoggerMessage(5006, LogLevel.Information, "TLS handshake with {Client} failed")]
    public static partial void TlsHandshakeFailed(ILogger logger, Exception exception, EndPoint? client);

    [LoggerMessage(5007, LogLevel.Warning, "AUTH failed for user {User} from {Client}")]
    public static partial void AuthFailed(ILogger logger, string user, string client);

    [LoggerMessage(5008, LogLevel.Warning, "Refused connection from {Client}: {Active} connections open (limit {Limit})")]
    public static partial void ConnectionRefused(ILogger logger, EndPoint? client, int active, int limit);

    [LoggerMessage(5009, LogLevel.Error, "SMTP session {ConnectionId} from {Client} failed")]
    public static partial void SessionFailed(ILogger logger, Exception exception, string connectionId, EndPoint? client);

    [LoggerMessage(5010, LogLevel.Information, "Rejected message from {Client} in session {ConnectionId}: {Reason}")]
    public static partial void MessageRejected(ILogger logger, EndPoint? client, string connectionId, string reason);

    // AUTH budgets and verifier (event ids 5070-5079).
    [LoggerMessage(5070, LogLevel.Warning, "AUTH from {Client} refused with 454 for the rest of its window: {Failures} failed attempts (Mta:Auth:MaxFailures) within {Window}")]
    public static partial void AuthClientBudgetSpent(ILogger logger, string client, int failures, TimeSpan window);

    [LoggerMessage(5071, LogLevel.Warning, "AUTH refused with 454 for every client for the rest of the minute: {Failures} failed attempts from all clients (Mta:Auth:MaxFailuresPerMinute)")]
    public static partial void AuthGlobalBudgetSpent(ILogger logger, int failures);

    [LoggerMessage(5072, LogLevel.Warning, "AUTH from {Client} refused with 454: no password verifier free within {Wait} (Mta:Auth:MaxConcurrentVerifications); {Total} such refusals since start")]
    public static partial void AuthVerifierBusy(ILogger logger, string client, TimeSpan wait, long total);

    // Slow and silent clients (ids 5040-5049).
    [LoggerMessage(5040, LogLevel.Warning, "Refused connection from {Client}: {Open} connections already open from that address (Mta:Limits:MaxConnectionsPerClient)")]
    public static partial void ConnectionRefusedPerClient(ILogger logger, EndPoint? client, int open);

    [LoggerMessage(5041, LogLevel.Warning, "SMTP session {ConnectionId} from {Client} cut off: {Bytes} body bytes in {Waited} of waiting, below Mta:Limits:MinDataRate {Rate} B/s; answered 421")]
    public static partial void DataRateTooLow(ILogger logger, string connectionId, EndPoint? client, long bytes, TimeSpan waited, int rate);

    [LoggerMessage(5042, LogLevel.Warning, "SMTP session {ConnectionId} from {Client} aborted: its replies were not read within {Timeout} (a client that does not read)")]
    public static partial void WriteStalled(ILogger logger, string connectionId, EndPoint? client, TimeSpan timeout);

    // Message content (ids 5050-5059).
    [LoggerMessage(5050, LogLevel.Warning, "Refused message from {Client} in session {ConnectionId}: {Reason} in its content, answered 554 5.6.0 (SMTP smuggling defence)")]
    public static partial void BareLineEndRefused(ILogger logger, EndPoint? client, string connectionId, string reason);

    // Local mailboxes (ids 60-69).
    [LoggerMessage(5060, LogLevel.Warning, "A local mailbox failed to take a message from {Client} in session {ConnectionId}; answered 451 4.3.0")]
    public static partial void LocalMailboxFailed(ILogger logger, Exception exception, EndPoint? client, string connectionId);
}
