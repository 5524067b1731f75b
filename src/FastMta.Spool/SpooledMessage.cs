namespace FastMta.Spool;

/// <summary>One recipient of a spooled message: the address and the raw ESMTP parameters of its RCPT command.</summary>
public sealed class SpooledRecipient
{
    internal SpooledRecipient(string address, string parameters)
    {
        Address = address;
        Parameters = parameters;
        Domain = DomainNames.Of(address); // once here, so the queue's scheduling passes never compute it again
    }

    public string Address { get; }

    /// <summary>The domain part of <see cref="Address"/>, lower-cased, one shared string per domain (<see cref="DomainNames"/>).</summary>
    public string Domain { get; }

    public string Parameters { get; }
}

/// <summary>A committed message as read back from the spool (cold path: tools, tests, queue rebuild).</summary>
public sealed class SpooledMessage
{
    internal SpooledMessage(
        SpoolMessageId id,
        long logAddress,
        DateTimeOffset receivedAt,
        string sender,
        string senderParameters,
        IReadOnlyList<SpooledRecipient> recipients,
        string clientAddress,
        string heloName,
        string? authenticatedUser,
        string protocol,
        ReadOnlyMemory<byte> body)
    {
        Id = id;
        LogAddress = logAddress;
        ReceivedAt = receivedAt;
        Sender = sender;
        SenderParameters = senderParameters;
        Recipients = recipients;
        ClientAddress = clientAddress;
        HeloName = heloName;
        AuthenticatedUser = authenticatedUser;
        Protocol = protocol;
        Body = body;
    }

    public SpoolMessageId Id { get; }

    /// <summary>Log address of the Envelope entry.</summary>
    public long LogAddress { get; }

    public DateTimeOffset ReceivedAt { get; }

    /// <summary>The reverse-path; empty for the null sender (&lt;&gt;).</summary>
    public string Sender { get; }

    public string SenderParameters { get; }

    public IReadOnlyList<SpooledRecipient> Recipients { get; }

    public string ClientAddress { get; }

    public string HeloName { get; }

    public string? AuthenticatedUser { get; }

    public string Protocol { get; }

    /// <summary>The egress pool the message asked for at reception; null when none.</summary>
    public string? Pool { get; internal init; }

    /// <summary>What MAIL FROM declared (SMTPUTF8, BODY=8BITMIME), typed.</summary>
    public EnvelopeFlags Flags { get; internal init; }

    /// <summary>The reassembled body (the Received header first, then the content).</summary>
    public ReadOnlyMemory<byte> Body { get; }
}
