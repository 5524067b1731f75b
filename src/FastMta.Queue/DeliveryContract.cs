using System.Net;
using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>
/// What the queue hands to the outbound side: one SMTP transaction for one message and some of its recipients,
/// all in one destination domain. The body is valid only for the duration of the <see cref="IDeliveryAgent"/> call.
/// </summary>
public sealed class DeliveryRequest
{
    public required SpoolMessageId MessageId { get; init; }

    /// <summary>The recipients' domain, lower-case as written in the envelope (an address literal keeps its brackets).</summary>
    public required string Domain { get; init; }

    /// <summary>The envelope sender; empty for the null reverse-path (bounces).</summary>
    public required string Sender { get; init; }

    public required IReadOnlyList<string> Recipients { get; init; }

    /// <summary>The message exactly as spooled (Received header included), not dot-stuffed; read piece by piece from the
    /// spool (one log entry at a time), so an attempt's memory does not grow with the message.</summary>
    public required MessageBody Body { get; init; }

    /// <summary>The sender or a recipient is non-ASCII, or the client asked for SMTPUTF8: the receiver must offer it.</summary>
    public required bool RequiresSmtpUtf8 { get; init; }

    /// <summary>The client declared BODY=8BITMIME (sent on as BODY=8BITMIME when the receiver offers it).</summary>
    public required bool EightBitMime { get; init; }

    /// <summary>The egress address traffic shaping chose (the connection binds to it); null = the agent's default.</summary>
    public IPAddress? SourceAddress { get; init; }

    /// <summary>The EHLO name that goes with <see cref="SourceAddress"/>; null = the agent's default.</summary>
    public string? EhloName { get; init; }

    /// <summary>The shaping rule's limit on messages per connection; null = the agent's default.</summary>
    public int? MaxMessagesPerConnection { get; init; }
}

/// <summary>
/// The site of a destination domain: its sorted MX host names (or route), so that traffic shaping can give every
/// domain hosted by one provider one budget. Implemented by the outbound side over its DNS cache.
/// </summary>
public interface ISiteResolver
{
    /// <summary>Never throws for DNS problems: a domain that does not resolve is its own site.</summary>
    ValueTask<string> GetSiteAsync(string domain, CancellationToken cancellationToken);
}

/// <summary>The outcome class of one recipient in one attempt.</summary>
public enum RecipientOutcome
{
    Delivered = 0,
    Deferred = 1,
    Failed = 2,
}

/// <summary>One recipient's result: the receiver's reply (or a locally made one, e.g. for DNS or connection failures).</summary>
/// <param name="ReplyCode">The three-digit SMTP reply code (250, 451, 550 ...); locally made failures use 4xx/5xx too.</param>
/// <param name="EnhancedStatus">RFC 3463 code such as "5.1.1"; made up from the reply class when the receiver sent none.</param>
/// <param name="Response">The reply text as received (lines joined by a space), or a description of the local failure.</param>
public readonly record struct RecipientResult(RecipientOutcome Outcome, int ReplyCode, string EnhancedStatus, string Response);

/// <summary>The result of one <see cref="IDeliveryAgent.DeliverAsync"/> call.</summary>
public sealed class DeliveryResult
{
    /// <summary>One entry per request recipient, same order.</summary>
    public required IReadOnlyList<RecipientResult> Recipients { get; init; }

    /// <summary>The host name of the server that answered last (MX name or route host); null when none was reached.</summary>
    public string? RemoteHost { get; init; }

    /// <summary>The IP address (and port) connected to; null when none was reached.</summary>
    public string? RemoteAddress { get; init; }

    /// <summary>The local (egress) IP address the connection was bound to; null when none was made.</summary>
    public string? SourceAddress { get; init; }

    /// <summary>New connections the attempt opened or tried to (0 when it reused one already open, or decided before
    /// connecting); traffic shaping's connection rate is settled with it. Defaults to 1 for agents that do not tell.</summary>
    public int ConnectionsOpened { get; init; } = 1;
}

/// <summary>
/// Delivers one transaction. Implementations never throw for delivery problems (DNS, connection, protocol, replies):
/// those become per-recipient results. An exception means a bug; the queue defers the recipients and logs it.
/// </summary>
public interface IDeliveryAgent
{
    Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);
}
