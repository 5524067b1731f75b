using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
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
    private readonly MessageSpool spool;
    private readonly int chunkSize;
    private readonly CommitAwaiter awaiter = new();
    private readonly SpoolPin pin = new();
    private bool pinned;
    private readonly List<byte[]> fullChunks = new(2);
    private readonly List<long> chunkAddresses = new(4);
    private readonly List<(int AddressLength, int ParametersLength)> recipients = new(4);
    private byte[]? current;
    private int currentFill;
    private byte[]? scratch;
    private bool scratchOffered;
    private byte[] senderBuffer = [];
    private int senderAddressLength;
    private int senderParametersLength;
    private byte[] recipientBuffer = [];
    private int recipientBytes;
    private string clientAddress = string.Empty;
    private string heloName = string.Empty;
    private string? authenticatedUser;
    private string protocol = string.Empty;
    private string? pool;
    private long receivedAtMs;
    private State state;
    private int envelopeLength;
    private int inlineLength;

    internal MessageWriter(MessageSpool spool)
    {
        this.spool = spool;
        chunkSize = spool.ChunkSize;
        Id = SpoolMessageId.NewId();
        receivedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
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

    public int RecipientCount => recipients.Count;

    public long BodyLength { get; private set; }

    /// <summary>UTF-8 reverse-path and its raw ESMTP parameters; an empty address is the null sender.</summary>
    public void SetSender(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters)
    {
        ThrowIfNotOpen();
        EnsureCapacity(ref senderBuffer, 0, address.Length + parameters.Length);
        address.CopyTo(senderBuffer);
        parameters.CopyTo(senderBuffer.AsSpan(address.Length));
        senderAddressLength = address.Length;
        senderParametersLength = parameters.Length;
    }

    public void AddRecipient(ReadOnlySpan<byte> address, ReadOnlySpan<byte> parameters)
    {
        ThrowIfNotOpen();
        EnsureCapacity(ref recipientBuffer, recipientBytes, address.Length + parameters.Length);
        address.CopyTo(recipientBuffer.AsSpan(recipientBytes));
        parameters.CopyTo(recipientBuffer.AsSpan(recipientBytes + address.Length));
        recipientBytes += address.Length + parameters.Length;
        recipients.Add((address.Length, parameters.Length));
    }

    public void SetOrigin(string clientAddress, string heloName, string? authenticatedUser, string protocol)
    {
        ThrowIfNotOpen();
        this.clientAddress = clientAddress ?? string.Empty;
        this.heloName = heloName ?? string.Empty;
        this.authenticatedUser = authenticatedUser;
        this.protocol = protocol ?? string.Empty;
    }

    /// <summary>The egress pool the message asks for (null: chosen by the queue from its sender); kept in the envelope.</summary>
    public void SetPool(string? pool)
    {
        ThrowIfNotOpen();
        this.pool = pool;
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
            scratchOffered = false;
            return current.AsMemory(currentFill, free);
        }

        // Rare: the caller needs more contiguous room than the current chunk has left. Hand out a scratch buffer and
        // split it across chunks in Advance (the only place a body byte is copied twice).
        if (scratch is null || scratch.Length < sizeHint)
        {
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }

            scratch = ArrayPool<byte>.Shared.Rent(sizeHint);
        }

        scratchOffered = true;
        return scratch;
    }

    public void Advance(int count)
    {
        ThrowIfNotOpen();
        if (count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        if (scratchOffered)
        {
            scratchOffered = false;
            if (count > scratch!.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(count), "Advanced past the end of the buffer.");
            }

            ReadOnlySpan<byte> source = scratch.AsSpan(0, count);
            while (!source.IsEmpty)
            {
                int free = PrepareCurrent();
                int n = Math.Min(free, source.Length);
                source[..n].CopyTo(current.AsSpan(currentFill));
                currentFill += n;
                source = source[n..];
            }
        }
        else
        {
            if (current is null || count > chunkSize - currentFill)
            {
                throw new ArgumentOutOfRangeException(nameof(count), "Advanced past the end of the buffer.");
            }

            currentFill += count;
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
        if (fullChunks.Count == 0 && (current is null || currentFill < chunkSize))
        {
            return default;
        }

        return FlushChunksAsync(includeFullCurrent: true, cancellationToken);
    }

    /// <summary>
    /// Appends the Envelope entry (with the last partial chunk inline) and waits until it is durably committed.
    /// Throws <see cref="SpoolUnavailableException"/> on commit timeout or when the spool is shutting down or failed;
    /// <see cref="InvalidOperationException"/> when there is no recipient or the envelope cannot fit one log page.
    /// </summary>
    public ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOpen();
        if (recipients.Count == 0)
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
        if (state == State.Disposed)
        {
            throw new ObjectDisposedException(nameof(MessageWriter));
        }

        ClearTransaction();
        Id = SpoolMessageId.NewId();
        receivedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        state = State.Open;
    }

    /// <summary>Returns the buffers and the writer to the pool. An uncommitted transaction is abandoned.</summary>
    public void Dispose()
    {
        if (state == State.Disposed)
        {
            return;
        }

        ClearTransaction();
        if (current is not null)
        {
            ArrayPool<byte>.Shared.Return(current);
            current = null;
        }

        if (scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(scratch);
            scratch = null;
        }

        state = State.Disposed;
        spool.ReturnWriter(this);
    }

    /// <summary>Fixes the identity of the current transaction (format tests).</summary>
    internal void SetIdentity(SpoolMessageId id, long receivedAtUnixMs)
    {
        Id = id;
        receivedAtMs = receivedAtUnixMs;
    }

    /// <summary>Called by the pool when it hands this writer out again.</summary>
    internal void Reuse()
    {
        state = State.Open;
        Id = SpoolMessageId.NewId();
        receivedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CommitCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (fullChunks.Count > 0)
            {
                await FlushChunksAsync(includeFullCurrent: false, cancellationToken).ConfigureAwait(false);
            }

            inlineLength = currentFill;
            envelopeLength = ComputeEnvelopeLength();
            if (envelopeLength > spool.MaxEntryLength && inlineLength > 0)
            {
                // Huge envelope (many recipients): move the tail into a chunk of its own, keep only metadata inline.
                await AppendChunkAsync(current!, currentFill, cancellationToken).ConfigureAwait(false);
                currentFill = 0;
                inlineLength = 0;
                envelopeLength = ComputeEnvelopeLength();
            }

            if (envelopeLength > spool.MaxEntryLength)
            {
                throw new SpoolEnvelopeTooLargeException(envelopeLength, spool.MaxEntryLength);
            }

            PinLog();
            long address = await spool.AppendAsync(new EnvelopeEntry(this), cancellationToken).ConfigureAwait(false);
            try
            {
                await spool.Committer.WaitForCommitAsync(awaiter, address, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                awaiter.Reset();
            }

            state = State.Committed;
            spool.Metrics.MessageCommitted(BodyLength);
            spool.MessageCommitted?.Invoke(BuildEnvelope(address));
            UnpinLog();
        }
        catch
        {
            state = State.Failed;
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushChunksAsync(bool includeFullCurrent, CancellationToken cancellationToken)
    {
        try
        {
            for (int i = 0; i < fullChunks.Count; i++)
            {
                await AppendChunkAsync(fullChunks[i], chunkSize, cancellationToken).ConfigureAwait(false);
                ArrayPool<byte>.Shared.Return(fullChunks[i]);
                fullChunks[i] = null!;
            }

            fullChunks.Clear();
            if (includeFullCurrent && current is not null && currentFill == chunkSize)
            {
                await AppendChunkAsync(current, chunkSize, cancellationToken).ConfigureAwait(false);
                currentFill = 0; // the log copied the bytes: reuse the buffer for the next chunk
            }
        }
        catch
        {
            state = State.Failed;
            throw;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AppendChunkAsync(byte[] chunk, int bodyLength, CancellationToken cancellationToken)
    {
        PinLog();
        var entry = new ChunkEntry(Id, (uint)chunkAddresses.Count, chunk, bodyLength);
        long address = await spool.AppendAsync(entry, cancellationToken).ConfigureAwait(false);
        chunkAddresses.Add(address);
    }

    [MemberNotNull(nameof(current))]
    private int PrepareCurrent()
    {
        if (current is null)
        {
            current = ArrayPool<byte>.Shared.Rent(chunkSize);
            currentFill = 0;
        }
        else if (currentFill == chunkSize)
        {
            fullChunks.Add(current);
            current = ArrayPool<byte>.Shared.Rent(chunkSize);
            currentFill = 0;
        }

        return chunkSize - currentFill;
    }

    private int ComputeEnvelopeLength()
    {
        long length = SpoolRecord.EnvelopeFixedLength
            + (8L * chunkAddresses.Count)
            + (4 * 6) + senderAddressLength + senderParametersLength
            + Encoding.UTF8.GetByteCount(clientAddress)
            + Encoding.UTF8.GetByteCount(heloName)
            + (authenticatedUser is null ? 0 : Encoding.UTF8.GetByteCount(authenticatedUser))
            + Encoding.UTF8.GetByteCount(protocol)
            + (pool is null ? 0 : 4 + Encoding.UTF8.GetByteCount(pool))
            + (8L * recipients.Count) + recipientBytes
            + inlineLength;
        return length > int.MaxValue ? int.MaxValue : (int)length;
    }

    /// <summary>Serializes the envelope straight into the log page (called by FasterLog inside its epoch).</summary>
    private void WriteEnvelope(Span<byte> destination)
    {
        SpoolRecord.WriteHeader(destination, RecordKind.Envelope, envelopeLength);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Id.Value);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], receivedAtMs);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], BodyLength);
        uint flags = (authenticatedUser is null ? 0u : SpoolRecord.FlagAuthenticated) | (pool is null ? 0u : SpoolRecord.FlagPool);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[32..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[36..], (uint)chunkAddresses.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[40..], (uint)recipients.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[44..], (uint)inlineLength);
        int position = SpoolRecord.EnvelopeFixedLength;
        for (int i = 0; i < chunkAddresses.Count; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(destination[position..], chunkAddresses[i]);
            position += 8;
        }

        position += SpoolRecord.WriteBytes(destination[position..], senderBuffer.AsSpan(0, senderAddressLength));
        position += SpoolRecord.WriteBytes(destination[position..], senderBuffer.AsSpan(senderAddressLength, senderParametersLength));
        position += SpoolRecord.WriteString(destination[position..], clientAddress, Encoding.UTF8.GetByteCount(clientAddress));
        position += SpoolRecord.WriteString(destination[position..], heloName, Encoding.UTF8.GetByteCount(heloName));
        position += SpoolRecord.WriteString(destination[position..], authenticatedUser, authenticatedUser is null ? 0 : Encoding.UTF8.GetByteCount(authenticatedUser));
        position += SpoolRecord.WriteString(destination[position..], protocol, Encoding.UTF8.GetByteCount(protocol));
        if (pool is not null)
        {
            position += SpoolRecord.WriteString(destination[position..], pool, Encoding.UTF8.GetByteCount(pool));
        }

        int offset = 0;
        for (int i = 0; i < recipients.Count; i++)
        {
            (int addressLength, int parametersLength) = recipients[i];
            position += SpoolRecord.WriteBytes(destination[position..], recipientBuffer.AsSpan(offset, addressLength));
            offset += addressLength;
            position += SpoolRecord.WriteBytes(destination[position..], recipientBuffer.AsSpan(offset, parametersLength));
            offset += parametersLength;
        }

        if (inlineLength > 0)
        {
            current.AsSpan(0, inlineLength).CopyTo(destination[position..]);
            position += inlineLength;
        }

        Debug.Assert(position == envelopeLength, "envelope length mismatch");
    }

    /// <summary>Keeps truncation off this transaction's entries until the queue has indexed the message.</summary>
    private void PinLog()
    {
        if (!pinned)
        {
            spool.Pin(pin);
            pinned = true;
        }
    }

    private void UnpinLog()
    {
        if (pinned)
        {
            spool.Unpin(pin);
            pinned = false;
        }
    }

    /// <summary>The committed message for the queue (envelope strings only; the body stays in the log).</summary>
    private SpooledEnvelope BuildEnvelope(long address)
    {
        var list = new SpooledRecipient[recipients.Count];
        int offset = 0;
        for (int i = 0; i < list.Length; i++)
        {
            (int addressLength, int parametersLength) = recipients[i];
            string recipient = Encoding.UTF8.GetString(recipientBuffer, offset, addressLength);
            offset += addressLength;
            list[i] = new SpooledRecipient(recipient, SharedStrings.Envelope.Get(recipientBuffer.AsSpan(offset, parametersLength)));
            offset += parametersLength;
        }

        long first = chunkAddresses.Count > 0 ? Math.Min(chunkAddresses[0], address) : address;
        return new SpooledEnvelope(Id, address, first, DateTimeOffset.FromUnixTimeMilliseconds(receivedAtMs), BodyLength,
            // Shared strings: a queue of millions keeps these, and in bulk mail they repeat.
            SharedStrings.Envelope.Get(senderBuffer.AsSpan(0, senderAddressLength)),
            SharedStrings.Envelope.Get(senderBuffer.AsSpan(senderAddressLength, senderParametersLength)),
            list, SharedStrings.ClientAddresses.Get(clientAddress), authenticatedUser)
        {
            Pool = pool,
        };
    }

    private void ClearTransaction()
    {
        UnpinLog();
        for (int i = 0; i < fullChunks.Count; i++)
        {
            // A flush that failed part-way has already given back (and nulled) the chunks it appended.
            if (fullChunks[i] is { } chunk)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }

        fullChunks.Clear();
        chunkAddresses.Clear();
        recipients.Clear();
        recipientBytes = 0;
        senderAddressLength = 0;
        senderParametersLength = 0;
        clientAddress = string.Empty;
        heloName = string.Empty;
        authenticatedUser = null;
        protocol = string.Empty;
        pool = null;
        currentFill = 0;
        scratchOffered = false;
        BodyLength = 0;
        inlineLength = 0;
        envelopeLength = 0;
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
        if (state != State.Open)
        {
            ThrowNotOpen();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotOpen()
    {
        throw state switch
        {
            State.Disposed => new ObjectDisposedException(nameof(MessageWriter)),
            State.Committed => new InvalidOperationException("The message is committed; call Reset() to start the next transaction."),
            _ => new InvalidOperationException("A previous append or commit of this transaction failed; call Reset() to start over."),
        };
    }

    /// <summary>A body chunk as a FasterLog entry: record header, then the pooled chunk bytes, copied once into the page.</summary>
    private readonly struct ChunkEntry : ILogEnqueueEntry
    {
        private readonly SpoolMessageId id;
        private readonly uint sequence;
        private readonly byte[] body;
        private readonly int length;

        public ChunkEntry(SpoolMessageId id, uint sequence, byte[] body, int length)
        {
            this.id = id;
            this.sequence = sequence;
            this.body = body;
            this.length = length;
        }

        public int SerializedLength => SpoolRecord.ChunkHeaderLength + length;

        public void SerializeTo(Span<byte> dest)
        {
            SpoolRecord.WriteChunkHeader(dest, id, sequence, length);
            body.AsSpan(0, length).CopyTo(dest[SpoolRecord.ChunkHeaderLength..]);
        }
    }

    /// <summary>The envelope as a FasterLog entry: serialized in place, no intermediate buffer.</summary>
    private readonly struct EnvelopeEntry : ILogEnqueueEntry
    {
        private readonly MessageWriter writer;

        public EnvelopeEntry(MessageWriter writer) => this.writer = writer;

        public int SerializedLength => writer.envelopeLength;

        public void SerializeTo(Span<byte> dest) => writer.WriteEnvelope(dest);
    }
}
