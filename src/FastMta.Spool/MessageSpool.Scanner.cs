using System.Buffers;
using FASTER.core;

namespace FastMta.Spool;

// How the committed log is read in order: the one scan that the queue rebuild (Scan), ReadMessagesAsync and the raw
// listing are built on.
public sealed partial class MessageSpool
{
    /// <summary>
    /// One pass over the log from its begin address to the committed tail at the time the pass starts. Every entry is
    /// read into one reused buffer (valid until the next read), every jump between entries is checked to be FASTER's
    /// own padding, and a scan that stops short of the tail is corruption; nothing is skipped silently.
    /// </summary>
    private sealed class LogScanner : IDisposable
    {
        private readonly MessageSpool _spool;
        private readonly ReusedEntryBuffer _buffer = new();
        private readonly FasterLogScanIterator _iterator;
        private readonly long _end;
        private long _expected;

        public LogScanner(MessageSpool spool)
        {
            _spool = spool;
            _end = spool._log.CommittedUntilAddress;
            _expected = spool._log.BeginAddress;
            _iterator = spool._log.Scan(_expected, _end);
        }

        /// <summary>Body chunks seen so far that no envelope has claimed yet; those left at the end are orphans.</summary>
        public HashSet<long> UnclaimedChunks { get; } = [];

        /// <summary>The next entry as FasterLog stored it, not interpreted; false at the committed tail.</summary>
        public bool TryReadEntry(out long address, out ReadOnlyMemory<byte> entry)
        {
            IMemoryOwner<byte> owner;
            int length;
            long next;
            try
            {
                // Into one reused buffer: the plain GetNext allocates an array per entry, which for a million-message
                // spool is gigabytes of garbage for a scan that keeps only the envelope strings.
                if (!_iterator.GetNext(_buffer, out owner, out length, out address, out next))
                {
                    if (_iterator.NextAddress < _end)
                    {
                        throw _spool.Corrupt(_iterator.NextAddress, "the scan stopped before the committed tail " + _end);
                    }

                    entry = default;
                    return false;
                }
            }
            catch (FasterException e)
            {
                throw _spool.Corrupt(_expected, "FasterLog could not read the entry: " + e.Message, e);
            }

            if (address != _expected)
            {
                _spool.CheckGap(_expected, address);
            }

            _expected = next;
            entry = owner.Memory[..length];
            return true;
        }

        /// <summary>
        /// The next record with a valid header that is not a body chunk (chunks are collected in
        /// <see cref="UnclaimedChunks"/> for the envelopes after them to claim); false at the committed tail.
        /// </summary>
        public bool TryReadRecord(CancellationToken cancellationToken, out long address, out RecordKind kind, out ReadOnlyMemory<byte> record)
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!TryReadEntry(out address, out record))
                {
                    kind = default;
                    return false;
                }

                kind = _spool.ReadHeader(record.Span, address);
                if (kind != RecordKind.BodyChunk)
                {
                    return true;
                }

                UnclaimedChunks.Add(address);
            }
        }

        /// <summary>The pass reached the tail: the chunks nobody claimed are counted as skipped orphans.</summary>
        public void Complete() => _spool.Metrics.OrphanChunksSkipped(UnclaimedChunks.Count);

        public void Dispose() => _iterator.Dispose();
    }

    /// <summary>A record header read during a scan or a random read; a bad one is logged before it is thrown.</summary>
    private RecordKind ReadHeader(ReadOnlySpan<byte> record, long address)
    {
        try
        {
            return SpoolRecord.ReadHeader(record, address);
        }
        catch (SpoolCorruptException e)
        {
            Log.CorruptRecord(_logger, address, e);
            throw;
        }
    }

    private void CheckGap(long from, long to)
    {
        long pageMask = (1L << _options.PageSizeBits) - 1;
        bool legitimate;
        try
        {
            // The scan skips FastCommitMode's commit records, and FasterLog leaves the rest of a page zeroed when the
            // next entry does not fit (the next page may then start with a commit record); anything else means the
            // scan jumped over bytes (a zeroed length field), which would silently drop records.
            legitimate = to > from && to - from <= pageMask && _rawLog.IsSkippableGap(from, to);
        }
        catch (Exception e) when (e is IOException or SpoolRecoveryException)
        {
            throw Corrupt(from, "cannot read the bytes the scan skipped: " + e.Message, e);
        }

        if (!legitimate)
        {
            throw Corrupt(from, $"the log scan skipped bytes up to address {to} that are not end-of-page padding");
        }
    }

    /// <summary>
    /// A memory pool of one buffer, handed out again on every rent: for a sequential scan that is done with each entry
    /// before it asks for the next. Grows to the largest entry seen.
    /// </summary>
    private sealed class ReusedEntryBuffer : MemoryPool<byte>, IMemoryOwner<byte>
    {
        private byte[] _array = new byte[4096];

        public override int MaxBufferSize => Array.MaxLength;

        public Memory<byte> Memory => _array;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            if (minBufferSize > _array.Length)
            {
                _array = new byte[Math.Max(minBufferSize, _array.Length * 2)];
            }

            return this;
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
