using System.Buffers;

namespace FastMta.Queue;

/// <summary>Everything a DSN reports about one message (RFC 3464 §2.2 per-message and §2.3 per-recipient fields).</summary>
internal sealed class DsnRequest
{
    /// <summary>This MTA's host name: Reporting-MTA, the From: domain and the Message-ID domain.</summary>
    public required string ReportingMta { get; init; }

    /// <summary>The original envelope sender, who receives the DSN. Must not be empty: see <see cref="DsnBuilder.MaySend"/>.</summary>
    public required string OriginalSender { get; init; }

    /// <summary>The spool id of the original message (reported as X-FastMta-Queue-ID and in the text).</summary>
    public required string OriginalMessageId { get; init; }

    /// <summary>The ENVID the client gave with MAIL FROM (RFC 3461), decoded from xtext; null when none was given.</summary>
    public string? OriginalEnvelopeId { get; init; }

    public required DateTimeOffset ArrivalDate { get; init; }

    /// <summary>The Date: of the DSN itself; the queue passes its clock's now.</summary>
    public required DateTimeOffset Date { get; init; }

    /// <summary>At least one recipient; one DSN covers every failed (or delayed) recipient of one message.</summary>
    public required IReadOnlyList<DsnRecipient> Recipients { get; init; }

    /// <summary>The original message as spooled, or its first <see cref="DsnBuilder.MaxReturnedHeaderBytes"/> + 2 bytes
    /// (all the queue reads from the spool). Only its header section is returned; the body never is.</summary>
    public required ReadOnlySequence<byte> OriginalMessage { get; init; }
}
