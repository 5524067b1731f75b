namespace FastMta.Intake;

/// <summary>
/// One of FastMta's own mailboxes (a bounce domain, a complaint or FBL address): mail to a local domain
/// (<see cref="LocalDomain"/>) is handed here instead of being queued for delivery.
/// </summary>
/// <remarks>
/// The durability contract: <see cref="DeliverAsync"/> is awaited before the source answers (SMTP's 250, the API's
/// 202), so an acceptance means the mailbox has the message. A mailbox that throws makes the whole message refused
/// with a temporary error (SMTP 451 4.3.0), and the client retries it: a mailbox must therefore expect to see a message
/// again (at least once, never lost). With remote recipients too, the mailbox is called first and the remote part is
/// spooled after it; if the spool then refuses, the client's retry hands the mailbox the message once more, which is
/// the better failure than sending it twice to the remote recipients.
/// </remarks>
public interface ILocalMailbox
{
    /// <summary>Takes one message. Its buffers are valid only until the returned task completes: copy what is kept.</summary>
    ValueTask DeliverAsync(LocalMessage message, CancellationToken cancellationToken);
}

/// <summary>A message for an <see cref="ILocalMailbox"/>: the envelope's local recipients and the content as stored
/// (Received header first, X-FastMta-Pool taken out).</summary>
public sealed class LocalMessage
{
    /// <summary>The id the client is told (the same as the spooled copy's when there are remote recipients too).</summary>
    public required FastMta.Spool.SpoolMessageId Id { get; init; }

    /// <summary>The reverse-path, UTF-8; empty for the null sender (a DSN).</summary>
    public required ReadOnlyMemory<byte> Sender { get; init; }

    /// <summary>The recipients of this mailbox's domains, UTF-8 addresses.</summary>
    public required IReadOnlyList<ReadOnlyMemory<byte>> Recipients { get; init; }

    public required ReadOnlyMemory<byte> Content { get; init; }

    /// <summary>The client's address as it appears in the Received header ("unknown" when there is none).</summary>
    public required string ClientAddress { get; init; }

    /// <summary>How it came (RFC 3848 keyword: ESMTP, ESMTPS, ..., HTTP).</summary>
    public required string Protocol { get; init; }
}
