using System.Net;
using FastMta.Shaping;
using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>
/// One delivery attempt as an <see cref="IAttemptObserver"/> sees it: which message went where, under which shaping
/// identity, what it cost and what the receiver answered. A struct passed by reference: observing allocates nothing.
/// Valid only during <see cref="IAttemptObserver.OnAttempt"/> (<see cref="Recipients"/> may be reused afterwards).
/// </summary>
public readonly record struct AttemptRecord
{
    public required SpoolMessageId MessageId { get; init; }

    /// <summary>The destination: the egress pool the message leaves from and the recipients' domain.</summary>
    public required DestinationKey Destination { get; init; }

    public string Pool => Destination.Pool;

    public string Domain => Destination.Domain;

    /// <summary>The egress source traffic shaping admitted the attempt from.</summary>
    public required string? SourceName { get; init; }

    /// <summary>The address that source binds to; null: the agent's default.</summary>
    public required IPAddress? SourceAddress { get; init; }

    /// <summary>The shaping rule in force for the destination.</summary>
    public required string? RuleName { get; init; }

    /// <summary>The destination's site (its MX set) that shaping budgets are kept under.</summary>
    public required string? Site { get; init; }

    /// <summary>The host that answered last (MX name or route host); null when no connection was made.</summary>
    public required string? RemoteHost { get; init; }

    /// <summary>New connections the attempt opened or tried to (0 when it reused one or decided before connecting).</summary>
    public required int ConnectionsOpened { get; init; }

    /// <summary>The whole attempt as the queue saw it (body read, DNS, connection, SMTP transaction).</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>One result per recipient of the transaction, in the order they were sent.</summary>
    public required IReadOnlyList<RecipientResult> Recipients { get; init; }

    /// <summary>The shaping slot the attempt was admitted with (still held while observers run).</summary>
    public required AttemptSlot Slot { get; init; }
}
