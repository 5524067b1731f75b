namespace FastMta.Outbound;

/// <summary>
/// The connection is unusable: connect refused or timed out, TLS failed, 421, lost, malformed reply. Every recipient
/// not yet settled in the current transaction is deferred with these values. Thrown and caught inside Outbound only
/// (it is a cold path: the connection is gone anyway); callers of the delivery agent never see it.
/// </summary>
/// <param name="reason">A metric tag from a small fixed set.</param>
/// <param name="replyCode">A 4xx code: the receiver's when it sent one (421), else 451 for local failures.</param>
/// <param name="enhancedStatus">"4.4.1" connect, "4.4.2" lost, "4.4.7" timeout, or the receiver's.</param>
public sealed class OutboundConnectionException(string reason, int replyCode, string enhancedStatus, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string Reason { get; } = reason;
    public int ReplyCode { get; } = replyCode;
    public string EnhancedStatus { get; } = enhancedStatus;
}
