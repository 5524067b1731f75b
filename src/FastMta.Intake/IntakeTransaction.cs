using System.Buffers;
using System.Runtime.CompilerServices;
using FastMta.Spool;

namespace FastMta.Intake;

/// <summary>
/// One message on its way in: the envelope (origin, sender, recipients, pool), then the content written to
/// <see cref="Content"/> (the head of the processor chain, whose end is the spool's <see cref="MessageWriter"/>), then
/// <see cref="Complete"/> (the processors' verdicts and the size limit) and <see cref="CommitAsync"/> (local mailboxes,
/// then the durable commit). Every refusal is an <see cref="IntakeRejection"/>, never an exception. Not thread-safe:
/// one source drives it at a time. An SMTP session keeps one for all its messages (<see cref="Reset"/>), so the
/// DATA path allocates nothing per message; the local-recipient parts exist only once a local recipient is added.
/// </summary>
public sealed class IntakeTransaction : IDisposable
{
    private readonly IntakePipeline _pipeline;
    private readonly MessageWriter _writer;
    private readonly IContentProcessor[] _processors;
    private string _clientAddress = string.Empty;
    private string _heloName = string.Empty;
    private string _protocol = string.Empty;
    private byte[] _sender = new byte[64]; // kept for a local mailbox; the writer keeps its own copy for the envelope
    private int _senderLength;
    private LocalRecipients? _local;
    private IBufferWriter<byte> _sink;
    private long _contentStart;

    internal IntakeTransaction(IntakePipeline pipeline, MessageWriter writer, IContentProcessor[] processors)
    {
        _pipeline = pipeline;
        _writer = writer;
        _processors = processors;
        _sink = writer;
    }

    /// <summary>Assigned when the transaction is created or reset.</summary>
    public SpoolMessageId Id => _writer.Id;

    /// <summary>Recipients so far, remote and local.</summary>
    public int RecipientCount => _writer.RecipientCount + (_local?.Count ?? 0);

    /// <summary>Bytes of the message as stored (the Received header included).</summary>
    public long BodyLength => _local is { IsOnly: true } local ? local.Copy.Length : _writer.BodyLength;

    /// <summary>The reverse-path given to <see cref="SetSender"/> (empty: the null sender), valid until the next one.</summary>
    public ReadOnlyMemory<byte> Sender => _sender.AsMemory(0, _senderLength);

    /// <summary>The pool name of an X-FastMta-Pool field that named no configured pool ("" when its value was empty or
    /// too long), after <see cref="Complete"/> refused the message for <see cref="IntakeRejection.UnknownPool"/>.</summary>
    public string? RefusedPool { get; internal set; }

    /// <summary>Where the content goes, from <see cref="StartContent()"/> to <see cref="Complete"/>.</summary>
    public IBufferWriter<byte> Content => _processors[0];

    /// <summary>Who sent it, kept in the envelope and written in the Received header.</summary>
    public void SetOrigin(string clientAddress, string heloName, string? authenticatedUser, string protocol)
    {
        _writer.SetOrigin(clientAddress, heloName, authenticatedUser, protocol);
        _clientAddress = clientAddress;
        _heloName = heloName;
        _protocol = protocol;
    }

    /// <summary>UTF-8 reverse-path and its raw ESMTP parameters; an empty address is the null sender.</summary>
    public void SetSender(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters)
    {
        _writer.SetSender(address, parameters);
        KeepSender(address);
    }

    /// <summary>The sender with the envelope flags the caller already parsed (SMTP's MAIL FROM), stored typed so the
    /// queue never parses the parameter text again.</summary>
    public void SetSender(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters, EnvelopeFlags flags)
    {
        _writer.SetSender(address, parameters, flags);
        KeepSender(address);
    }

    private void KeepSender(ReadOnlySpan<byte> address)
    {
        if (address.Length > _sender.Length)
        {
            _sender = new byte[address.Length]; // rare: an address longer than any seen so far on this transaction
        }
        address.CopyTo(_sender);
        _senderLength = address.Length;
    }

    /// <summary>The egress pool (null: chosen by the queue from the sender).</summary>
    public void SetPool(string? pool) => _writer.SetPool(pool);

    /// <summary>A recipient to be delivered by the queue.</summary>
    public void AddRecipient(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters) => _writer.AddRecipient(address, parameters);

    /// <summary>A recipient of one of FastMta's own mailboxes: the message is handed to <paramref name="mailbox"/> at
    /// commit, and this recipient is not spooled.</summary>
    public void AddLocalRecipient(ReadOnlySpan<byte> address, ILocalMailbox mailbox)
    {
        _local ??= new LocalRecipients();
        _local.Add(address, mailbox);
    }

    /// <summary>Starts the content without a Received header (a message FastMta generated itself, such as a DSN).</summary>
    public void StartContent()
    {
        _sink = _writer;
        if (_local is { Count: > 0 } local)
        {
            local.Copy.Reset(_writer.RecipientCount > 0 ? _writer : null, _pipeline.Options.MaxLocalMessageBytes);
            local.IsOnly = _writer.RecipientCount == 0;
            _sink = local.Copy;
        }
        _contentStart = SinkLength;
        for (int i = 0; i < _processors.Length; i++)
        {
            _processors[i].Reset(i + 1 < _processors.Length ? _processors[i + 1] : _sink);
        }
    }

    /// <summary>Starts the content with this MTA's Received header (RFC 5321 4.4) for the origin, received now.</summary>
    public void StartContent(DateTimeOffset receivedAt)
    {
        StartContent();
        Span<byte> id = stackalloc byte[32];
        _writer.Id.TryFormat(id, out int written);
        ReceivedHeader.Write(_sink, _heloName, _clientAddress, _pipeline.HostnameUtf8, _protocol, id[..written], receivedAt);
        _contentStart = SinkLength; // the limit is the client's content, not our trace line
    }

    /// <summary>Moves the chunks that filled to the log so that memory stays about one chunk per message; a cheap
    /// synchronous no-op when none is full. Refused when the spool cannot store them (then <see cref="Reset"/>).</summary>
    public ValueTask<IntakeResult> FlushAsync(CancellationToken cancellationToken)
    {
        ValueTask flush;
        try
        {
            flush = _writer.FlushAsync(cancellationToken);
        }
        catch (SpoolUnavailableException ex)
        {
            return ValueTask.FromResult(IntakeResult.Rejected(IntakePipeline.FromSpool(ex.Reason), ex));
        }
        return flush.IsCompletedSuccessfully ? ValueTask.FromResult(IntakeResult.Accepted(Id)) : AwaitFlushAsync(flush);
    }

    /// <summary>The content is complete: the processors' verdicts (the pool header first), then the size limits (the
    /// content's, and for a message to a local mailbox the whole message's, which it holds in memory).</summary>
    public IntakeRejection Complete()
    {
        foreach (IContentProcessor processor in _processors)
        {
            IntakeRejection rejection = processor.Complete(this);
            if (rejection != IntakeRejection.None)
            {
                return rejection;
            }
        }
        if (_local is { Count: > 0, Copy.Overflowed: true })
        {
            return IntakeRejection.TooLarge;
        }
        return SinkLength - _contentStart > _pipeline.Options.MaxMessageBytes ? IntakeRejection.TooLarge : IntakeRejection.None;
    }

    /// <summary>
    /// Hands the message to its local mailboxes (if any; see <see cref="ILocalMailbox"/> for the contract), then
    /// appends the envelope for the remote recipients and waits until it is durable. Accepted only then: the source's
    /// 250 or 202 follows. Not cancelled by the client going away: a complete message is committed or refused, never
    /// left half-decided. Call <see cref="Reset"/> afterwards, whatever the outcome.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<IntakeResult> CommitAsync()
    {
        if (_local is { Count: > 0 } local)
        {
            try
            {
                await local.DeliverAsync(Id, Sender, _clientAddress, _protocol).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                return IntakeResult.Rejected(IntakeRejection.LocalMailboxFailed, ex); // the source logs it with its answer
            }
        }
        if (_writer.RecipientCount > 0)
        {
            try
            {
                await _writer.CommitAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (SpoolUnavailableException ex)
            {
                return IntakeResult.Rejected(IntakePipeline.FromSpool(ex.Reason), ex);
            }
            catch (SpoolEnvelopeTooLargeException ex)
            {
                return IntakeResult.Rejected(IntakeRejection.EnvelopeTooLarge, ex);
            }
        }
        return IntakeResult.Accepted(Id);
    }

    /// <summary>Forgets the message (RSET, a refusal, or after the commit) and starts the next with a new id; chunks
    /// already logged become orphans that readers skip.</summary>
    public void Reset()
    {
        _writer.Reset();
        _senderLength = 0;
        _local?.Clear();
        _sink = _writer;
        _contentStart = 0;
        RefusedPool = null;
    }

    /// <summary>Gives the buffers and the spool writer back; an uncommitted message is abandoned.</summary>
    public void Dispose()
    {
        _writer.Dispose();
        foreach (IContentProcessor processor in _processors)
        {
            processor.Dispose();
        }
        _local?.Clear();
    }

    private long SinkLength => ReferenceEquals(_sink, _writer) ? _writer.BodyLength : _local!.Copy.Length;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<IntakeResult> AwaitFlushAsync(ValueTask flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        catch (SpoolUnavailableException ex)
        {
            return IntakeResult.Rejected(IntakePipeline.FromSpool(ex.Reason), ex);
        }
        return IntakeResult.Accepted(Id);
    }
}
