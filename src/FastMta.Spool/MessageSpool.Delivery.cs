using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using FASTER.core;

namespace FastMta.Spool;

// The queue manager's side of the spool: the live scan at start-up, body reads for delivery, recipient outcomes,
// copy-forward of long-lived messages and truncation (space reclamation).
public sealed partial class MessageSpool
{
    private readonly HashSet<SpoolPin> _pins = [];

    private ISpoolCommitListener? _commitListener;

    /// <summary>The registered listener, or null (read once per commit by the writer).</summary>
    internal ISpoolCommitListener? CommitListener => Volatile.Read(ref _commitListener);

    /// <summary>
    /// Registers the one listener told of every committed message (contract on <see cref="ISpoolCommitListener"/>).
    /// Register before mail is accepted; a second registration while one is set throws.
    /// </summary>
    public void SetCommitListener(ISpoolCommitListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (Interlocked.CompareExchange(ref _commitListener, listener, null) is { } registered)
        {
            throw new InvalidOperationException($"The spool already has a commit listener ({registered.GetType().Name}); it is registered once.");
        }
    }

    /// <summary>
    /// Unregisters <paramref name="listener"/> if it is the one registered (the queue manager, when it stops: messages
    /// committed after that are found by the next start's scan). Commits already calling it may still finish doing so.
    /// </summary>
    public void RemoveCommitListener(ISpoolCommitListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        Interlocked.CompareExchange(ref _commitListener, null, listener);
    }

    /// <summary>The oldest address still in the log.</summary>
    public long BeginAddress => _log.BeginAddress;

    /// <summary>The address the next entry will get (or later).</summary>
    public long TailAddress => _log.TailAddress;

    /// <summary>
    /// Reads every committed record in log order and hands messages and recipient states to the visitor (queue
    /// rebuild). Bodies are not read. Corruption throws <see cref="SpoolCorruptException"/>.
    /// </summary>
    public void Scan(ISpoolVisitor visitor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        using var scanner = new LogScanner(this);
        while (scanner.TryReadRecord(cancellationToken, out long address, out RecordKind kind, out ReadOnlyMemory<byte> entry))
        {
            ReadOnlySpan<byte> record = entry.Span;
            switch (kind)
            {
                case RecordKind.Envelope:
                    visitor.OnEnvelope(ToEnvelope(ParseEnvelope(record, address, scanner.UnclaimedChunks), address));
                    break;
                case RecordKind.CopyForward:
                    visitor.OnEnvelope(ReadCopyForward(record, address, scanner.UnclaimedChunks));
                    break;
                case RecordKind.RecipientState:
                    visitor.OnStates(BinaryPrimitives.ReadInt64LittleEndian(record[8..]), SpoolRecord.ReadStateEntries(record, address));
                    break;
            }
        }

        scanner.Complete();
    }

    /// <summary>
    /// The body of <paramref name="envelope"/> for a delivery attempt, read one log entry at a time: the entry at its
    /// address (the envelope, whose last field is the inline tail of the body) now, each body chunk when the reader
    /// gets to it, into a pooled buffer given back before the next one is read. Only the record's fixed part is read to
    /// find the body (chunk count, chunk table, inline tail), and it must name the envelope's message and body length;
    /// no envelope string is parsed again. A delivery attempt thus holds at most two entries (about 2 x
    /// <see cref="SpoolOptions.ChunkSize"/>), whatever the message's size. Dispose the body when done. Corruption
    /// throws <see cref="SpoolCorruptException"/>, here or from <see cref="MessageBody.ReadAsync"/>.
    /// </summary>
    public ValueTask<MessageBody> OpenBodyAsync(SpooledEnvelope envelope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        return OpenBodyCoreAsync(envelope.LogAddress, envelope, cancellationToken);
    }

    /// <summary>
    /// The body of the message whose Envelope or CopyForward record is at <paramref name="envelopeAddress"/>, as
    /// <see cref="OpenBodyAsync(SpooledEnvelope, CancellationToken)"/> reads it, for a caller that has only the address.
    /// </summary>
    public ValueTask<MessageBody> OpenBodyAsync(long envelopeAddress, CancellationToken cancellationToken) =>
        OpenBodyCoreAsync(envelopeAddress, expected: null, cancellationToken);

    /// <summary>
    /// The whole body of the message whose Envelope or CopyForward record is at <paramref name="envelopeAddress"/>, as
    /// the log's own entry buffers chained together (no reassembly into one array). Holds the whole message in memory:
    /// cold paths (tools, tests) only; delivery uses <see cref="OpenBodyAsync(SpooledEnvelope, CancellationToken)"/>.
    /// </summary>
    public async ValueTask<ReadOnlySequence<byte>> ReadBodyAsync(long envelopeAddress, CancellationToken cancellationToken)
    {
        (byte[] bytes, int length) = await ReadEntryAsync(envelopeAddress, "envelope", cancellationToken).ConfigureAwait(false);
        ReadOnlyMemory<byte> record = bytes.AsMemory(0, length);
        record = record[EnvelopeOffset(record.Span, envelopeAddress)..];
        BodyLayout layout = LocateBody(record.Span, envelopeAddress, expected: null);
        BodySegment? first = null;
        BodySegment? last = null;
        long total = 0;
        for (int i = 0; i < layout.ChunkCount; i++)
        {
            long chunkAddress = EnvelopeRecord.ChunkAddress(record.Span, i);
            (byte[] chunk, int chunkLength) = await ReadEntryAsync(chunkAddress, "body chunk", cancellationToken).ConfigureAwait(false);
            ValidateChunk(chunk.AsSpan(0, chunkLength), chunkAddress, layout.Id, i, envelopeAddress);
            Append(ref first, ref last, chunk.AsMemory(SpoolRecord.ChunkHeaderLength, chunkLength - SpoolRecord.ChunkHeaderLength));
            total += chunkLength - SpoolRecord.ChunkHeaderLength;
        }

        Append(ref first, ref last, record.Slice(layout.InlineOffset, layout.InlineLength));
        total += layout.InlineLength;
        if (total != layout.BodyLength)
        {
            throw Corrupt(envelopeAddress, $"message {layout.Id} has {total} body bytes, its envelope says {layout.BodyLength}");
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    /// <summary>Appends the outcomes of some recipients of one message and waits until they are durable.</summary>
    public async ValueTask AppendStatesAsync(long envelopeAddress, IReadOnlyList<RecipientState> states, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0)
        {
            return;
        }

        byte[] record = BuildStateRecord(RecordKind.RecipientState, envelopeAddress, states, trailerLength: 0);
        long address = await AppendAsync(new BytesEntry(record), cancellationToken).ConfigureAwait(false);
        await Committer.WaitForCommitAsync(new CommitAwaiter(), address, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Re-appends a message (its chunks, then a CopyForward record carrying <paramref name="states"/>) near the tail
    /// and waits until it is durable. From then on the message lives at the returned envelope's address; the caller
    /// must switch to it before the next truncation.
    /// </summary>
    public async ValueTask<SpooledEnvelope> CopyForwardAsync(SpooledEnvelope envelope, IReadOnlyList<RecipientState> states, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(states);
        var pin = new SpoolPin();
        Pin(pin);
        try
        {
            (byte[] bytes, int length) = await ReadEntryAsync(envelope.LogAddress, "envelope", cancellationToken).ConfigureAwait(false);
            ReadOnlyMemory<byte> original = bytes.AsMemory(0, length);
            original = original[EnvelopeOffset(original.Span, envelope.LogAddress)..];
            EnvelopeFields fields = ParseEnvelope(original.Span, envelope.LogAddress, chunks: null);
            long[] newChunks = new long[fields.ChunkCount];
            for (int i = 0; i < newChunks.Length; i++)
            {
                long chunkAddress = EnvelopeRecord.ChunkAddress(original.Span, i);
                (byte[] chunk, int chunkLength) = await ReadEntryAsync(chunkAddress, "body chunk", cancellationToken).ConfigureAwait(false);
                ValidateChunk(chunk.AsSpan(0, chunkLength), chunkAddress, fields.Id, i, envelope.LogAddress);
                newChunks[i] = await AppendAsync(new BytesEntry(chunk.AsSpan(0, chunkLength).ToArray()), cancellationToken).ConfigureAwait(false);
            }

            byte[] record = BuildStateRecord(RecordKind.CopyForward, envelope.LogAddress, states, original.Length);
            Span<byte> embedded = record.AsSpan(record.Length - original.Length);
            original.Span.CopyTo(embedded);
            for (int i = 0; i < newChunks.Length; i++)
            {
                EnvelopeRecord.SetChunkAddress(embedded, i, newChunks[i]);
            }

            long address = await AppendAsync(new BytesEntry(record), cancellationToken).ConfigureAwait(false);
            await Committer.WaitForCommitAsync(new CommitAwaiter(), address, cancellationToken).ConfigureAwait(false);
            Metrics.MessageCopiedForward(fields.BodyLength);
            return ReadCopyForward(record, address, chunks: null);
        }
        finally
        {
            Unpin(pin);
        }
    }

    /// <summary>
    /// Drops the log before the oldest live message, never past a message still being written. The callback is asked
    /// under the same lock that writers release their pin with after the commit hook, so a message is always either
    /// pinned or already known to the caller's index. Segments wholly before the new begin address are deleted once
    /// the next commit has recorded it. Returns the new begin address.
    /// </summary>
    public long Truncate(Func<long> oldestLiveAddress)
    {
        ArgumentNullException.ThrowIfNull(oldestLiveAddress);
        long target;
        lock (_pins)
        {
            target = Math.Min(oldestLiveAddress(), _log.TailAddress);
            foreach (SpoolPin pin in _pins)
            {
                target = Math.Min(target, pin.Address);
            }
        }

        if (target > _log.BeginAddress)
        {
            _log.TruncateUntil(target);
            Committer.RequestCommit(); // the commit records the new begin address and lets FASTER delete old segments
            Metrics.Truncated(target);
        }

        return Math.Max(target, _log.BeginAddress);
    }

    internal void Pin(SpoolPin pin)
    {
        lock (_pins)
        {
            pin.Address = _log.TailAddress; // every entry appended from now on gets this address or a later one
            _pins.Add(pin);
        }
    }

    internal void Unpin(SpoolPin pin)
    {
        lock (_pins)
        {
            _pins.Remove(pin);
        }
    }

    private static byte[] BuildStateRecord(RecordKind kind, long address, IReadOnlyList<RecipientState> states, int trailerLength)
    {
        int length = SpoolRecord.StateHeaderLength + (states.Count * SpoolRecord.StateEntryLength) + trailerLength;
        byte[] record = new byte[length];
        SpoolRecord.WriteStateHeader(record, kind, length, address, states.Count);
        for (int i = 0; i < states.Count; i++)
        {
            SpoolRecord.WriteStateEntry(record.AsSpan(SpoolRecord.StateHeaderLength + (i * SpoolRecord.StateEntryLength)), states[i]);
        }

        return record;
    }

    private static void Append(ref BodySegment? first, ref BodySegment? last, ReadOnlyMemory<byte> memory)
    {
        if (memory.IsEmpty)
        {
            return;
        }

        var segment = new BodySegment(memory, last is null ? 0 : last.RunningIndex + last.Memory.Length);
        if (last is null)
        {
            first = segment;
        }
        else
        {
            last.SetNext(segment);
        }

        last = segment;
    }

    private SpooledEnvelope ReadCopyForward(ReadOnlySpan<byte> record, long address, HashSet<long>? chunks)
    {
        long replaces = BinaryPrimitives.ReadInt64LittleEndian(record[8..]);
        RecipientState[] states = SpoolRecord.ReadStateEntries(record, address);
        EnvelopeFields fields = ParseEnvelope(record[EnvelopeOffset(record, address)..], address, chunks);
        return ToEnvelope(fields, address, replaces, states);
    }

    private static SpooledEnvelope ToEnvelope(in EnvelopeFields fields, long address, long? replaces = null, RecipientState[]? carried = null) =>
        new(fields.Id, address, fields.ChunkCount > 0 ? Math.Min(fields.FirstChunkAddress, address) : address, fields.ReceivedAt,
            fields.BodyLength, fields.Sender, fields.SenderParameters, fields.Recipients, fields.ClientAddress, fields.AuthenticatedUser)
        {
            Pool = fields.Pool,
            Flags = fields.Flags,
            ReplacesAddress = replaces,
            CarriedStates = carried ?? [],
        };

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<MessageBody> OpenBodyCoreAsync(long envelopeAddress, SpooledEnvelope? expected, CancellationToken cancellationToken)
    {
        IMemoryOwner<byte> owner = await ReadPooledEntryAsync(envelopeAddress, "envelope", estimatedLength: 0, cancellationToken).ConfigureAwait(false);
        try
        {
            ReadOnlyMemory<byte> record = owner.Memory;
            record = record[EnvelopeOffset(record.Span, envelopeAddress)..];
            BodyLayout layout = LocateBody(record.Span, envelopeAddress, expected);
            return new SpooledBody(this, envelopeAddress, layout, owner, record);
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }

    /// <summary>The body's place in an envelope record; with <paramref name="expected"/>, the record must be that message's.</summary>
    private BodyLayout LocateBody(ReadOnlySpan<byte> record, long address, SpooledEnvelope? expected)
    {
        BodyLayout layout;
        try
        {
            layout = EnvelopeRecord.LocateBody(record, address);
        }
        catch (SpoolCorruptException e)
        {
            Log.CorruptRecord(_logger, address, e);
            throw;
        }

        if (expected is not null && (layout.Id != expected.Id || layout.BodyLength != expected.BodyLength))
        {
            throw Corrupt(address, $"the envelope there is message {layout.Id} of {layout.BodyLength} bytes, not message {expected.Id} of {expected.BodyLength}");
        }

        return layout;
    }

    private async ValueTask<(byte[] Bytes, int Length)> ReadEntryAsync(long address, string what, CancellationToken cancellationToken)
    {
        byte[]? bytes;
        int length;
        try
        {
            (bytes, length) = await _log.ReadAsync(address, 0, cancellationToken).ConfigureAwait(false);
        }
        catch (FasterException e)
        {
            throw Corrupt(address, $"the {what} entry is unreadable: {e.Message}", e);
        }

        return bytes is null ? throw Corrupt(address, $"the {what} entry is outside the log (begin {_log.BeginAddress})") : (bytes, length);
    }

    // One entry into a pooled buffer sliced to the entry's length (FasterLog rents it from the pool; Dispose returns it).
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<IMemoryOwner<byte>> ReadPooledEntryAsync(long address, string what, int estimatedLength, CancellationToken cancellationToken)
    {
        IMemoryOwner<byte>? owner;
        int length;
        try
        {
            (owner, length) = await _log.ReadAsync(address, MemoryPool<byte>.Shared, estimatedLength, cancellationToken).ConfigureAwait(false);
        }
        catch (FasterException e)
        {
            throw Corrupt(address, $"the {what} entry is unreadable: {e.Message}", e);
        }

        return owner is null
            ? throw Corrupt(address, $"the {what} entry is outside the log (begin {_log.BeginAddress})")
            : new SlicedOwner(owner, length);
    }

    private void ValidateChunk(ReadOnlySpan<byte> chunk, long chunkAddress, SpoolMessageId id, int sequence, long envelopeAddress)
    {
        if (SpoolRecord.ReadHeader(chunk, chunkAddress) != RecordKind.BodyChunk
            || BinaryPrimitives.ReadUInt64LittleEndian(chunk[8..]) != id.Value
            || BinaryPrimitives.ReadUInt32LittleEndian(chunk[16..]) != (uint)sequence)
        {
            throw Corrupt(chunkAddress, $"the entry is not body chunk {sequence} of message {id} (envelope at {envelopeAddress})");
        }
    }

    /// <summary>A pooled buffer seen as exactly the entry it holds.</summary>
    private sealed class SlicedOwner(IMemoryOwner<byte> inner, int length) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory => inner.Memory[..length];

        public void Dispose() => inner.Dispose();
    }

    /// <summary>
    /// A spooled body for one delivery attempt: the envelope entry (kept for its chunk table and inline tail) and at most
    /// one chunk entry at a time. Checks every chunk (kind, message id, sequence) and the total length as it goes.
    /// </summary>
    private sealed class SpooledBody : MessageBody
    {
        private readonly MessageSpool _spool;
        private readonly long _envelopeAddress;
        private readonly SpoolMessageId _id;
        private readonly long _length;
        private readonly int _chunkCount;
        private readonly ReadOnlyMemory<byte> _record;
        private readonly ReadOnlyMemory<byte> _inline;
        private IMemoryOwner<byte>? _envelope;
        private IMemoryOwner<byte>? _chunk;
        private int _nextChunk;
        private long _position;
        private bool _inlineRead;

        /// <param name="record">The envelope record inside <paramref name="envelope"/>'s memory.</param>
        public SpooledBody(MessageSpool spool, long envelopeAddress, in BodyLayout layout, IMemoryOwner<byte> envelope, ReadOnlyMemory<byte> record)
        {
            _spool = spool;
            _envelopeAddress = envelopeAddress;
            _id = layout.Id;
            _length = layout.BodyLength;
            _chunkCount = layout.ChunkCount;
            _envelope = envelope;
            _record = record;
            _inline = record.Slice(layout.InlineOffset, layout.InlineLength);
        }

        public override long Length => _length;

        [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // no box per chunk read from disk
        public override async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(_envelope is null, this);
            ReleaseChunk(); // the previous piece is done with: one chunk buffer at a time
            while (_nextChunk < _chunkCount)
            {
                long address = EnvelopeRecord.ChunkAddress(_record.Span, _nextChunk);
                IMemoryOwner<byte> owner = await _spool.ReadPooledEntryAsync(address, "body chunk", _spool.ChunkSize + SpoolRecord.ChunkHeaderLength,
                    cancellationToken).ConfigureAwait(false);
                _chunk = owner;
                ReadOnlyMemory<byte> entry = owner.Memory;
                _spool.ValidateChunk(entry.Span, address, _id, _nextChunk, _envelopeAddress);
                _nextChunk++;
                ReadOnlyMemory<byte> piece = entry[SpoolRecord.ChunkHeaderLength..];
                _position += piece.Length;
                if (_position + _inline.Length > _length)
                {
                    throw _spool.Corrupt(_envelopeAddress, $"message {_id} has more body bytes than its envelope says ({_length})");
                }

                if (!piece.IsEmpty)
                {
                    return piece;
                }

                ReleaseChunk();
            }

            if (_inlineRead)
            {
                return ReadOnlyMemory<byte>.Empty;
            }

            _inlineRead = true;
            if (_position + _inline.Length != _length)
            {
                throw _spool.Corrupt(_envelopeAddress, $"message {_id} has {_position + _inline.Length} body bytes, its envelope says {_length}");
            }

            _position += _inline.Length;
            return _inline;
        }

        public override void Rewind()
        {
            ObjectDisposedException.ThrowIf(_envelope is null, this);
            ReleaseChunk();
            _nextChunk = 0;
            _position = 0;
            _inlineRead = false;
        }

        protected override void Dispose(bool disposing)
        {
            ReleaseChunk();
            _envelope?.Dispose();
            _envelope = null;
        }

        private void ReleaseChunk()
        {
            _chunk?.Dispose();
            _chunk = null;
        }
    }

    /// <summary>A pre-serialized record as a FasterLog entry (cold paths: states, copy-forward).</summary>
    private readonly struct BytesEntry(byte[] record) : ILogEnqueueEntry
    {
        public int SerializedLength => record.Length;

        public void SerializeTo(Span<byte> dest) => record.CopyTo(dest);
    }

    private sealed class BodySegment : ReadOnlySequenceSegment<byte>
    {
        public BodySegment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(BodySegment next) => Next = next;
    }
}

/// <summary>Holds the log from being truncated at or after <see cref="Address"/> while a message is being written.</summary>
internal sealed class SpoolPin
{
    public long Address { get; set; }
}
