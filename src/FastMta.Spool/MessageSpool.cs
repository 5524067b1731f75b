using System.Diagnostics;
using System.Runtime.CompilerServices;
using FASTER.core;
using Microsoft.Extensions.Logging;

namespace FastMta.Spool;

/// <summary>
/// The durable message spool: one FasterLog holding BodyChunk and Envelope records (format in SpoolRecord.cs), one
/// group committer, and recovery that verifies what FasterLog recovered instead of trusting it. A 250 reply may be
/// sent once <see cref="MessageWriter.CommitAsync"/> has returned.
/// </summary>
public sealed partial class MessageSpool : IAsyncDisposable
{
    private const int MaxPooledWriters = 1024;

    private readonly SpoolOptions _options;
    private readonly ILogger _logger;
    private readonly IDevice _device;
    private readonly DeviceLogCommitCheckpointManager _commitManager;
    private readonly FasterLog _log;
    private readonly RawLog _rawLog;
    private readonly SpoolLock _spoolLock;
    private readonly StorageHealth _storage;
    private readonly Stack<MessageWriter> _writerPool = new();
    private int _activeOperations;
    private volatile bool _closing;
    private int _disposed;

    private MessageSpool(SpoolOptions options, ILogger logger, IDevice device, DeviceLogCommitCheckpointManager commitManager, FasterLog log, RawLog rawLog,
        SpoolMetrics metrics, StorageHealth storage, SpoolLock spoolLock, long watermark)
    {
        _storage = storage;
        _spoolLock = spoolLock;
        _options = options;
        _logger = logger;
        _device = device;
        _commitManager = commitManager;
        _log = log;
        _rawLog = rawLog;
        Metrics = metrics;
        ChunkSize = options.ChunkSize;
        MaxEntryLength = (1 << options.PageSizeBits) - RawLog.EntryHeaderLength;
        Committer = new GroupCommitter(log, metrics, logger, storage, options.Path, options.CommitTimeout, watermark);
        metrics.ObserveAvailability(() => Unavailable is not { IsLatched: true });
    }

    internal int ChunkSize { get; }

    internal int MaxEntryLength { get; }

    internal GroupCommitter Committer { get; }

    internal SpoolMetrics Metrics { get; }

    /// <summary>Commits issued since open (tests, tools).</summary>
    internal long CommitsIssued => Metrics.CommitsIssued;

    internal long CommittedUntilAddress => _log.CommittedUntilAddress;

    /// <summary>When this spool lets a 250 be sent.</summary>
    public SpoolDurability Durability => _options.Durability;

    /// <summary>
    /// Why the spool refuses mail right now, or null: a latched state (<see cref="SpoolUnavailableException.IsLatched"/>:
    /// no space, storage failed, committer failed) or shutting down; always out of service, never back-pressure. Cheap and allocation-free, for refusing a
    /// transaction at MAIL/RCPT before the client sends its body. Back-pressure is per message and never shows here.
    /// </summary>
    public SpoolOutOfServiceException? Unavailable => Committer.Unavailable;

    /// <summary>The storage state for tests and tools.</summary>
    internal StorageHealth Storage => _storage;

    /// <summary>A writer for one SMTP transaction; pooled (returned by <see cref="MessageWriter.Dispose"/>).</summary>
    public MessageWriter CreateWriter()
    {
        MessageWriter? writer = null;
        lock (_writerPool)
        {
            _writerPool.TryPop(out writer);
        }

        if (writer is null)
        {
            return new MessageWriter(this);
        }

        writer.Reuse();
        return writer;
    }

    /// <summary>
    /// Every committed message in log order, up to the committed tail at the time of the call; BodyChunk entries are
    /// reassembled, orphan chunks skipped (and counted). A record that fails validation throws
    /// <see cref="SpoolCorruptException"/>; nothing is skipped silently.
    /// </summary>
    public async IAsyncEnumerable<SpooledMessage> ReadMessagesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var scanner = new LogScanner(this);
        while (scanner.TryReadRecord(cancellationToken, out long address, out RecordKind kind, out ReadOnlyMemory<byte> record))
        {
            if (kind == RecordKind.RecipientState)
            {
                continue;
            }

            // A copied-forward message is read again here under its new address; Scan gives the live view.
            SpooledMessage? message = await ReadEnvelopeAsync(record[EnvelopeOffset(record.Span, address)..], address, scanner.UnclaimedChunks, cancellationToken)
                .ConfigureAwait(false);
            if (message is not null)
            {
                yield return message;
            }
        }

        scanner.Complete();
    }

    /// <summary>Every committed entry, raw (tools and format tests).</summary>
    internal List<(long Address, byte[] Entry)> ReadRawEntries()
    {
        var entries = new List<(long Address, byte[] Entry)>();
        using var scanner = new LogScanner(this);
        while (scanner.TryReadEntry(out long address, out ReadOnlyMemory<byte> entry))
        {
            entries.Add((address, entry.ToArray()));
        }

        return entries;
    }

    /// <summary>Stops the committer after a final commit, then disposes the log and the device.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _closing = true;
        Interlocked.MemoryBarrier(); // pairs with the increment in EnterOperation: one of the two sees the other
        long deadline = Stopwatch.GetTimestamp() + Committer.CommitTimeoutTicks + Stopwatch.Frequency;
        while (Volatile.Read(ref _activeOperations) > 0 && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }

        await Committer.StopAsync().ConfigureAwait(false);
        long committed = _log.CommittedUntilAddress;
        _log.Dispose();
        _commitManager.Dispose(); // FasterLog disposes only a commit manager it created itself
        _device.Dispose(); // FasterLog.Dispose leaves the device it was given alone (Relaxed: flushes the segments to disk)
        if (_options.Durability == SpoolDurability.Relaxed)
        {
            FlushCommitMetadata(_options.Path);
        }

        Metrics.Dispose();
        Log.SpoolClosed(_logger, committed);
        _spoolLock.Dispose(); // last: nothing of this process touches the spool after another may take it
    }

    /// <summary>Relaxed mode, clean shutdown: the commit metadata files and their directories to disk as well.</summary>
    private void FlushCommitMetadata(string path)
    {
        try
        {
            string commits = Path.Combine(path, SpoolFiles.CommitDirectory);
            if (Directory.Exists(commits))
            {
                foreach (string file in Directory.EnumerateFiles(commits))
                {
                    using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                    RandomAccess.FlushToDisk(handle);
                }

                if (!OperatingSystem.IsWindows())
                {
                    DirectorySync.Fsync(commits);
                    DirectorySync.Fsync(path);
                }
            }
        }
        catch (IOException e)
        {
            Log.ShutdownFlushFailed(_logger, e);
        }
    }

    internal void ReturnWriter(MessageWriter writer)
    {
        lock (_writerPool)
        {
            if (_writerPool.Count < MaxPooledWriters)
            {
                _writerPool.Push(writer);
            }
        }
    }

    /// <summary>Appends one entry; waits (bounded by CommitTimeout) while the log's memory is full of unflushed pages.</summary>
    internal ValueTask<long> AppendAsync<T>(T entry, CancellationToken cancellationToken)
        where T : struct, ILogEnqueueEntry
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnterOperation();
        bool exit = true;
        try
        {
            if (_log.TryEnqueue(entry, out long address))
            {
                return new ValueTask<long>(address);
            }

            exit = false;
            return SlowAppendAsync(entry, cancellationToken);
        }
        finally
        {
            if (exit)
            {
                ExitOperation();
            }
        }
    }

    private async ValueTask<long> SlowAppendAsync<T>(T entry, CancellationToken cancellationToken)
        where T : struct, ILogEnqueueEntry
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.CommitTimeout);
            try
            {
                return await _log.EnqueueAsync(entry, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                Metrics.CommitFailed("timeout", 1);
                throw new SpoolBusyException($"The spool log memory stayed full for {_options.CommitTimeout.TotalSeconds:0.###} s (disk too slow).");
            }
        }
        finally
        {
            ExitOperation();
        }
    }

    private void EnterOperation()
    {
        Interlocked.Increment(ref _activeOperations);
        // A storage fault does not refuse appends: body chunks still go to the log's memory (bounded, and waiting
        // for room there times out as back-pressure), and the message is refused at its commit wait with the
        // fault's reason, so a transaction in the middle of DATA ends with its reply rather than mid-body.
        SpoolUnavailableException? unavailable = Committer.RefusesAppends;
        if (_closing || unavailable is not null)
        {
            Interlocked.Decrement(ref _activeOperations);
            throw unavailable is null
                ? new SpoolOutOfServiceException(SpoolUnavailableReason.ShuttingDown, "The spool is shutting down.")
                : new SpoolOutOfServiceException(unavailable.Reason, unavailable.Message, unavailable);
        }
    }

    private void ExitOperation() => Interlocked.Decrement(ref _activeOperations);

    private async ValueTask<SpooledMessage?> ReadEnvelopeAsync(ReadOnlyMemory<byte> record, long address, HashSet<long> chunks, CancellationToken cancellationToken)
    {
        EnvelopeFields fields = ParseEnvelope(record.Span, address, chunks);
        if (fields.ChunkCount > 0 && fields.FirstChunkAddress < _log.BeginAddress)
        {
            return null; // its first chunks were truncated away, which happens only once every recipient was final
        }

        if (fields.BodyLength > Array.MaxLength)
        {
            throw Corrupt(address, $"body length {fields.BodyLength} is too large to reassemble in memory");
        }

        byte[] body = new byte[fields.BodyLength];
        int filled = 0;
        for (int i = 0; i < fields.ChunkCount; i++)
        {
            long chunkAddress = EnvelopeRecord.ChunkAddress(record.Span, i);
            byte[]? bytes;
            int length;
            try
            {
                (bytes, length) = await _log.ReadAsync(chunkAddress, SpoolRecord.ChunkHeaderLength + ChunkSize, cancellationToken).ConfigureAwait(false);
            }
            catch (FasterException e)
            {
                throw Corrupt(chunkAddress, $"body chunk {i} of message {fields.Id} (envelope at {address}) is unreadable: {e.Message}", e);
            }

            if (bytes is null)
            {
                throw Corrupt(chunkAddress, $"body chunk {i} of message {fields.Id} (envelope at {address}) is outside the log");
            }

            ReadOnlySpan<byte> chunk = bytes.AsSpan(0, length);
            ValidateChunk(chunk, chunkAddress, fields.Id, i, address);

            ReadOnlySpan<byte> data = chunk[SpoolRecord.ChunkHeaderLength..];
            if (data.Length > body.Length - filled - fields.InlineLength)
            {
                throw Corrupt(address, $"chunks of message {fields.Id} hold more bytes than its body length {fields.BodyLength}");
            }

            data.CopyTo(body.AsSpan(filled));
            filled += data.Length;
        }

        if (filled + fields.InlineLength != body.Length)
        {
            throw Corrupt(address, $"message {fields.Id} has {filled + fields.InlineLength} body bytes, its envelope says {fields.BodyLength}");
        }

        record.Span.Slice(fields.InlineOffset, fields.InlineLength).CopyTo(body.AsSpan(filled));
        return new SpooledMessage(fields.Id, address, fields.ReceivedAt, fields.Sender, fields.SenderParameters, fields.Recipients,
            fields.ClientAddress, fields.HeloName, fields.AuthenticatedUser, fields.Protocol, body)
        {
            Pool = fields.Pool,
            Flags = fields.Flags,
        };
    }

    /// <param name="chunks">Chunk addresses seen earlier in a scan (each may be claimed once), or null for random access.
    /// Addresses below the log's begin address are accepted: truncation removed them with the message final.</param>
    private EnvelopeFields ParseEnvelope(ReadOnlySpan<byte> record, long address, HashSet<long>? chunks)
    {
        try
        {
            return EnvelopeRecord.Parse(record, address, _log.BeginAddress, chunks);
        }
        catch (SpoolCorruptException e)
        {
            Log.CorruptRecord(_logger, address, e);
            throw;
        }
    }

    /// <summary>Where the envelope record starts in the entry at <paramref name="address"/>: 0, or after a CopyForward's states.</summary>
    private int EnvelopeOffset(ReadOnlySpan<byte> entry, long address) =>
        ReadHeader(entry, address) == RecordKind.CopyForward
            ? SpoolRecord.StateHeaderLength + ((int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]) * SpoolRecord.StateEntryLength)
            : 0;

    private SpoolCorruptException Corrupt(long address, string message, Exception? inner = null)
    {
        SpoolCorruptException e = inner is null ? new SpoolCorruptException(address, message) : new SpoolCorruptException(address, message, inner);
        Log.CorruptRecord(_logger, address, e);
        return e;
    }
}
