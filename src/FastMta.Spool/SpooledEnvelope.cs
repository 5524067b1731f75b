namespace FastMta.Spool;

/// <summary>
/// A committed message without its body: what the queue manager keeps in memory. The body stays in the log and is
/// read with <see cref="MessageSpool.OpenBodyAsync(SpooledEnvelope, CancellationToken)"/> when the message is
/// delivered: <see cref="LogAddress"/>, <see cref="Id"/> and <see cref="BodyLength"/> are all that needs (the entry
/// there holds the chunk table and the inline tail at fixed places), so nothing is added per message for it.
/// </summary>
public sealed class SpooledEnvelope
{
    // ReplacesAddress as a long and a bool rather than a long? (16 bytes): the bool and Flags then share one 8-byte
    // slot, and the object stays at its size before Flags existed (the queue keeps one per message, up to millions).
    private readonly long _replacesAddress;
    private readonly bool _replaces;

    internal SpooledEnvelope(
        SpoolMessageId id,
        long logAddress,
        long firstAddress,
        DateTimeOffset receivedAt,
        long bodyLength,
        string sender,
        string senderParameters,
        IReadOnlyList<SpooledRecipient> recipients,
        string clientAddress,
        string? authenticatedUser)
    {
        Id = id;
        LogAddress = logAddress;
        FirstAddress = firstAddress;
        ReceivedAt = receivedAt;
        BodyLength = bodyLength;
        Sender = sender;
        SenderParameters = senderParameters;
        Recipients = recipients;
        ClientAddress = clientAddress;
        AuthenticatedUser = authenticatedUser;
    }

    public SpoolMessageId Id { get; }

    /// <summary>Log address of the Envelope (or CopyForward) record: the message's handle in the spool.</summary>
    public long LogAddress { get; }

    /// <summary>The lowest log address the message occupies (its first body chunk, or the envelope itself).</summary>
    public long FirstAddress { get; }

    public DateTimeOffset ReceivedAt { get; }

    public long BodyLength { get; }

    /// <summary>The reverse-path; empty for the null sender (&lt;&gt;).</summary>
    public string Sender { get; }

    public string SenderParameters { get; }

    public IReadOnlyList<SpooledRecipient> Recipients { get; }

    public string ClientAddress { get; }

    public string? AuthenticatedUser { get; }

    /// <summary>The egress pool the message asked for at reception (X-FastMta-Pool or the API's pool); null when none.</summary>
    public string? Pool { get; internal init; }

    /// <summary>What MAIL FROM declared (SMTPUTF8, BODY=8BITMIME), typed; <see cref="SenderParameters"/> holds the same as text.</summary>
    public EnvelopeFlags Flags { get; internal init; }

    /// <summary>For a copied-forward message: the address of the record it replaces; otherwise null.</summary>
    public long? ReplacesAddress
    {
        get => _replaces ? _replacesAddress : null;
        internal init
        {
            _replaces = value.HasValue;
            _replacesAddress = value.GetValueOrDefault();
        }
    }

    /// <summary>For a copied-forward message: the recipient states carried with it; otherwise empty.</summary>
    public IReadOnlyList<RecipientState> CarriedStates { get; internal init; } = [];
}

/// <summary>Receives the spool's records in log order during <see cref="MessageSpool.Scan"/> (queue rebuild).</summary>
public interface ISpoolVisitor
{
    /// <summary>A committed message (Envelope or CopyForward record).</summary>
    void OnEnvelope(SpooledEnvelope envelope);

    /// <summary>Recorded outcomes for recipients of the message whose record is at <paramref name="envelopeAddress"/>.</summary>
    void OnStates(long envelopeAddress, ReadOnlySpan<RecipientState> states);
}
