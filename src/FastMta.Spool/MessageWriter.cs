using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using FASTER.core;

namespace FastMta.Spool;

/// <summary>
/// Writes one SMTP transaction into the spool: envelope fields, then the body through <see cref="IBufferWriter{T}"/>.
/// Body bytes land directly in a pooled chunk buffer behind the record header; each full chunk is appended to the log
/// by <see cref="FlushAsync"/>, so memory stays about one chunk per message whatever its size. <see cref="CommitAsync"/>
/// appends the envelope (with the last partial chunk inline) and returns once it is durable. Not thread-safe: one
/// SMTP session uses it at a time. After <see cref="CommitAsync"/>, call <see cref="Reset"/> for the next transaction.
/// </summary>
public sealed class MessageWriter : IBufferWriter<byte>, IDisposable
{
    private readonly MessageSpool _spool;
    private readonly int _chunkSize;
    private readonly CommitAwaiter _awaiter = new();
    private readonly SpoolPin _pin = new();
    private bool _pinned;
    private readonly List<byte[]> _fullChunks = new(2);
    private readonly List<long> _chunkAddresses = new(4);
    private readonly List<(int AddressLength, int ParametersLength)> _recipients = new(4);
    private byte[]? _current;
    private int _currentFill;
    private byte[]? _scratch;
    private bool _scratchOffered;
    private byte[] _senderBuffer = [];
    private int _senderAddressLength;
    private int _senderParametersLength;
    private EnvelopeFlags _flags;
    private byte[] _recipientBuffer = [];
    private int _recipientBytes;
    private string _clientAddress = string.Empty;
    private string _heloName = string.Empty;
    private string? _authenticatedUser;
    private string _protocol = string.Empty;
    private string? _pool;
    private long _receivedAtMs;
    private State _state;
    private int _envelopeLength;
    private int _inlineLength;

    internal MessageWriter(MessageSpool spool)
    {
        _spool = spool;
        _chunkSize = spool.ChunkSize;
        Id = SpoolMessageId.NewId();
        _receivedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    private enum State
    {
        Open,
        Committed,
        Failed,
        Disposed,
    }

    /// <summary>Assigned when the writer is created or reset.</summary>
    public SpoolMessageId Id { get; private set; }

    public int RecipientCount => _recipients.Count;

    public long BodyLength { get; private set; }

    /// <summary>
    /// UTF-8 reverse-path and its raw ESMTP parameters; an empty address is the null sender. The typed flags are read
    /// from the parameter text (SMTPUTF8, BODY=8BITMIME); a caller that has parsed them already passes them instead.
    /// </summary>
    public void SetSender(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters) =>
        SetSender(address, parameters, EnvelopeRecord.FlagsFromParameters(parameters));

    /// <summary>
    /// UTF-8 reverse-path, its raw ESMTP parameters (kept verbatim) and what they declare, typed: the queue reads
    /// <paramref name="flags"/> and never the text. They must agree with the text (the SMTP session and the HTTP API
    /// take both from one parse).
    /// </summary>
    public void SetSender(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters, EnvelopeFlags flags)
    {
        ThrowIfNotOpen();
        _flags = flags;
        EnsureCapacity(ref _senderBuffer, 0, address.Length + parameters.Length);
        address.CopyTo(_senderBuffer);
        parameters.CopyTo(_senderBuffer.AsSpan(address.Length));
        _senderAddressLength = address.Length;
        _senderParametersLength = parameters.Length;
    }

    public void AddRecipient(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters)
    {
        ThrowIfNotOpen();
        EnsureCapacity(ref _recipientBuffer, _recipientBytes, address.Length + parameters.Length);
        address.CopyTo(_recipientBuffer.AsSpan(_recipientBytes));
        parameters.CopyTo(_recipientBuffer.AsSpan(_recipientBytes + address.Length));
        _recipientBytes += address.Length + parameters.Length;
        _recipients.Add((address.Length, parameters.Length));
    }

    public void SetOrigin(string clientAddress, string heloName, string? authenticatedUser, string protocol)
    {
        ThrowIfNotOpen();
        _clientAddress = clientAddress ?? string.Empty;
        _heloName = heloName ?? string.Empty;
        _authenticatedUser = authenticatedUser;
        _protocol = protocol ?? string.Empty;
    }

    /// <summary>The egress pool the message asks for (null: chosen by the queue from its sender); kept in the envelope.</summary>
    public void SetPool(string? pool)
    {
        ThrowIfNotOpen();
        _pool = pool;
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        ThrowIfNotOpen();
        if (sizeHint < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeHint));
        }

        int free = PrepareCurrent();
        if (sizeHint <= free)
        {
            _scratchOffered = false;
            return _current.AsMemory(_currentFill, free);
        }

        // Rare: the caller needs more contiguous room than the current chunk has left. Hand out a scratch buffer and
        // split it across chunks in Advance (the only place a body byte is copied twice).
        if (_scratch is null || _scratch.Length < sizeHint)
        {
            if (_scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(_scratch);
            }

            _scratch = ArrayPool<byte>.Shared.Rent(sizeHint);
        }

        _scratchOffered = true;
        return _scratch;
    }

    public void Advance(int count)
    {
        ThrowIfNotOpen();
        if (count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        if (_scratchOffered)
        {
            _scratchOffered = false;
            if (count > _scratch!.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(count), "Advanced past the end of the buffer.");
            }

            ReadOnlySpan<byte> source = _scratch.AsSpan(0, count);
            while (!source.IsEmpty)
            {
                int free = PrepareCurrent();
                int n = Math.Min(free, source.Length);
                source[..n].CopyTo(_current.AsSpan(_currentFill));
                _currentFill += n;
                source = source[n..];
            }
        }
        else
        {
            if (_current is null || count > _chunkSize - _currentFill)
            {
                throw new ArgumentOutOfRangeException(nameof(count), "Advanced past the end of the buffer.");
            }

            _currentFill += count;
        }

        BodyLength += count;
    }

    /// <summary>
    /// Appends completed chunks to the log so that memory per message stays about one chunk. A cheap synchronous
    /// no-op when no chunk is full. Call it after each batch of body bytes.
    /// </summary>
    public ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        if (_fullChunks.Count == 0 && (_current is null || _currentFill < _chunkSize))
        {
            return default;
        }

        return FlushChunksAsync(includeFullCurrent: true, cancellationToken);
    }

    /// <summary>
    /// Appends the Envelope entry (with the last partial chunk inline) and waits until it is durably committed.
    /// Throws <see cref="SpoolBusyException"/> on commit timeout (back-pressure), <see cref="SpoolOutOfServiceException"/>
    /// when the spool is shutting down or its storage failed (both are <see cref="SpoolUnavailableException"/>s);
    /// <see cref="InvalidOperationException"/> when there is no recipient or the envelope cannot fit one log page
    /// (<see cref="SpoolEnvelopeTooLargeException"/>). On success the commit listener has been told before this returns.
    /// </summary>
    public ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        if (_recipients.Count == 0)
        {
            throw new InvalidOperationException("A message needs at least one recipient.");
        }

        return CommitCoreAsync(cancellationToken);
    }

    /// <summary>
    /// Abandons the current transaction (RSET, rejected DATA, client gone) and starts a new one with a new Id; chunks
    /// already appended become orphans. Also the way to start the next transaction after a commit.
    /// </summary>
    public void Reset()
    {
        if (_state == State.Disposed)
        {
            throw new ObjectDisposedException(nameof(MessageWriter));
        }

        ClearTransaction();
        Id = SpoolMessageId.NewId();
        _receivedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _state = State.Open;
    }

    /// <summary>Returns the buffers and the writer to the pool. An uncommitted transaction is abandoned.</summary>
    public void Dispose()
    {
        if (_state == State.Disposed)
        {
            return;
        }

        ClearTransaction();
        if (_current is not null)
        {
            ArrayPool<byte>.Shared.Return(_current);
            _current = null;
        }

        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }

        _state = State.Disposed;
        _spool.ReturnWriter(this);
    }

    /// <summary>Fixes the identity of the current transaction (format tests).</summary>
    internal void SetIdentity(SpoolMessageId id, long receivedAtUnixMs)
    {
        Id = id;
        _receivedAtMs = receivedAtUnixMs;
    }

    /// <summary>Called by the pool when it hands this writer out again.</summary>
    internal void Reuse()
    {
        _state = State.Open;
        Id = SpoolMessageId.NewId();
        _receivedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CommitCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_fullChunks.Count > 0)
            {
                await FlushChunksAsync(includeFullCurrent: false, cancellationToken).ConfigureAwait(false);
            }

            _inlineLength = _currentFill;
            _envelopeLength = EnvelopeRecord.Measure(Content());
            if (_envelopeLength > _spool.MaxEntryLength && _inlineLength > 0)
            {
                // Huge envelope (many recipients): move the tail into a chunk of its own, keep only metadata inline.
                await AppendChunkAsync(_current!, _currentFill, cancellationToken).ConfigureAwait(false);
                _currentFill = 0;
                _inlineLength = 0;
                _envelopeLength = EnvelopeRecord.Measure(Content());
            }

            if (_envelopeLength > _spool.MaxEntryLength)
            {
                throw new SpoolEnvelopeTooLargeException(_envelopeLength, _spool.MaxEntryLength);
            }

            PinLog();
            long address = await _spool.AppendAsync(new EnvelopeEntry(this), cancellationToken).ConfigureAwait(false);
            try
            {
                await _spool.Committer.WaitForCommitAsync(_awaiter, address, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _awaiter.Reset();
            }

            _state = State.Committed;
            _spool.Metrics.MessageCommitted(BodyLength);
            _spool.CommitListener?.OnMessageCommitted(BuildEnvelope(address));
            UnpinLog();
        }
        catch
        {
            _state = State.Failed;
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushChunksAsync(bool includeFullCurrent, CancellationToken cancellationToken)
    {
        try
        {
            for (int i = 0; i < _fullChunks.Count; i++)
            {
                await AppendChunkAsync(_fullChunks[i], _chunkSize, cancellationToken).ConfigureAwait(false);
                ArrayPool<byte>.Shared.Return(_fullChunks[i]);
                _fullChunks[i] = null!;
            }

            _fullChunks.Clear();
            if (includeFullCurrent && _current is not null && _currentFill == _chunkSize)
            {
                await AppendChunkAsync(_current, _chunkSize, cancellationToken).ConfigureAwait(false);
                _currentFill = 0; // the log copied the bytes: reuse the buffer for the next chunk
            }
        }
        catch
        {
            _state = State.Failed;
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AppendChunkAsync(byte[] chunk, int bodyLength, CancellationToken cancellationToken)
    {
        PinLog();
        var entry = new ChunkEntry(Id, (uint)_chunkAddresses.Count, chunk, bodyLength);
        long address = await _spool.AppendAsync(entry, cancellationToken).ConfigureAwait(false);
        _chunkAddresses.Add(address);
    }

    [MemberNotNull(nameof(_current))]
    private int PrepareCurrent()
    {
        if (_current is null)
        {
            _current = ArrayPool<byte>.Shared.Rent(_chunkSize);
            _currentFill = 0;
        }
        else if (_currentFill == _chunkSize)
        {
            _fullChunks.Add(_current);
            _current = ArrayPool<byte>.Shared.Rent(_chunkSize);
            _currentFill = 0;
        }

        return _chunkSize - _currentFill;
    }

    /// <summary>The envelope as it stands, for the codec: spans over this writer's buffers.</summary>
    private EnvelopeContent Content() => new()
    {
        Id = Id,
        ReceivedAtUnixMs = _receivedAtMs,
        BodyLength = BodyLength,
        Flags = _flags,
        ChunkAddresses = CollectionsMarshal.AsSpan(_chunkAddresses),
        Sender = _senderBuffer.AsSpan(0, _senderAddressLength),
        SenderParameters = _senderBuffer.AsSpan(_senderAddressLength, _senderParametersLength),
        ClientAddress = _clientAddress,
        HeloName = _heloName,
        AuthenticatedUser = _authenticatedUser,
        Protocol = _protocol,
        Pool = _pool,
        RecipientBytes = _recipientBuffer.AsSpan(0, _recipientBytes),
        Recipients = CollectionsMarshal.AsSpan(_recipients),
        Inline = _inlineLength == 0 ? default : _current.AsSpan(0, _inlineLength),
    };

    /// <summary>Keeps truncation off this transaction's entries until the queue has indexed the message.</summary>
    private void PinLog()
    {
        if (!_pinned)
        {
            _spool.Pin(_pin);
            _pinned = true;
        }
    }

    private void UnpinLog()
    {
        if (_pinned)
        {
            _spool.Unpin(_pin);
            _pinned = false;
        }
    }

    /// <summary>The committed message for the queue (envelope strings only; the body stays in the log).</summary>
    private SpooledEnvelope BuildEnvelope(long address)
    {
        var list = new SpooledRecipient[_recipients.Count];
        int offset = 0;
        for (int i = 0; i < list.Length; i++)
        {
            (int addressLength, int parametersLength) = _recipients[i];
            string recipient = Encoding.UTF8.GetString(_recipientBuffer, offset, addressLength);
            offset += addressLength;
            list[i] = new SpooledRecipient(recipient, SharedStrings.Envelope.Get(_recipientBuffer.AsSpan(offset, parametersLength)));
            offset += parametersLength;
        }

        long first = _chunkAddresses.Count > 0 ? Math.Min(_chunkAddresses[0], address) : address;
        return new SpooledEnvelope(Id, address, first, DateTimeOffset.FromUnixTimeMilliseconds(_receivedAtMs), BodyLength,
            // Shared strings: a queue of millions keeps these, and in bulk mail they repeat.
            SharedStrings.Envelope.Get(_senderBuffer.AsSpan(0, _senderAddressLength)),
            SharedStrings.Envelope.Get(_senderBuffer.AsSpan(_senderAddressLength, _senderParametersLength)),
            list, SharedStrings.ClientAddresses.Get(_clientAddress), _authenticatedUser)
        {
            Pool = _pool,
            Flags = _flags,
        };
    }

    private void ClearTransaction()
    {
        UnpinLog();
        for (int i = 0; i < _fullChunks.Count; i++)
        {
            // A flush that failed part-way has already given back (and nulled) the chunks it appended.
            if (_fullChunks[i] is { } chunk)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }

        _fullChunks.Clear();
        _chunkAddresses.Clear();
        _recipients.Clear();
        _recipientBytes = 0;
        _senderAddressLength = 0;
        _senderParametersLength = 0;
        _flags = EnvelopeFlags.None;
        _clientAddress = string.Empty;
        _heloName = string.Empty;
        _authenticatedUser = null;
        _protocol = string.Empty;
        _pool = null;
        _currentFill = 0;
        _scratchOffered = false;
        BodyLength = 0;
        _inlineLength = 0;
        _envelopeLength = 0;
    }

    private static void EnsureCapacity(ref byte[] buffer, int used, int additional)
    {
        int needed = used + additional;
        if (needed <= buffer.Length)
        {
            return;
        }

        byte[] grown = new byte[Math.Max(needed, Math.Max(256, buffer.Length * 2))];
        buffer.AsSpan(0, used).CopyTo(grown);
        buffer = grown;
    }

    private void ThrowIfNotOpen()
    {
        if (_state != State.Open)
        {
            ThrowNotOpen();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotOpen()
    {
        throw _state switch
        {
            State.Disposed => new ObjectDisposedException(nameof(MessageWriter)),
            State.Committed => new InvalidOperationException("The message is committed; call Reset() to start the next transaction."),
            _ => new InvalidOperationException("A previous append or commit of this transaction failed; call Reset() to start over."),
        };
    }

    /// <summary>A body chunk as a FasterLog entry: record header, then the pooled chunk bytes, copied once into the page.</summary>
    private readonly struct ChunkEntry : ILogEnqueueEntry
    {
        private readonly SpoolMessageId _id;
        private readonly uint _sequence;
        private readonly byte[] _body;
        private readonly int _length;

        public ChunkEntry(SpoolMessageId id, uint sequence, byte[] body, int length)
        {
            _id = id;
            _sequence = sequence;
            _body = body;
            _length = length;
        }

        public int SerializedLength => SpoolRecord.ChunkHeaderLength + _length;

        public void SerializeTo(Span<byte> dest)
        {
            SpoolRecord.WriteChunkHeader(dest, _id, _sequence, _length);
            _body.AsSpan(0, _length).CopyTo(dest[SpoolRecord.ChunkHeaderLength..]);
        }
    }

    /// <summary>The envelope as a FasterLog entry: serialized in place, no intermediate buffer.</summary>
    private readonly struct EnvelopeEntry : ILogEnqueueEntry
    {
        private readonly MessageWriter _writer;

        public EnvelopeEntry(MessageWriter writer) => _writer = writer;

        public int SerializedLength => _writer._envelopeLength;

        public void SerializeTo(Span<byte> dest) => EnvelopeRecord.Write(dest, _writer.Content(), _writer._envelopeLength);
    }
}
