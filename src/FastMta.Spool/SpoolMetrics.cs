using System.Diagnostics.Metrics;

namespace FastMta.Spool;

/// <summary>The spool's instruments, on one Meter named "FastMta.Spool". Plain counters mirror them for tests and tools.
/// Names and units are chosen for the Prometheus names they export as (fastmta_spool_*; durations in seconds).</summary>
/// <remarks>The meter is the factory's (it disposes it, with the host); disposing this only stops observing the spool.</remarks>
internal sealed class SpoolMetrics : IDisposable
{
    public const string MeterName = "FastMta.Spool";

    // A group commit is one fsync'd write: sub-millisecond on fast disks, seconds when the disk is saturated.
    private static readonly double[] CommitSeconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
    private static readonly double[] RecoverySeconds = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly Counter<long> _messagesCommitted;
    private readonly Counter<long> _bodyBytesCommitted;
    private readonly Counter<long> _commits;
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<int> _messagesPerCommit;
    private readonly Counter<long> _commitFailures;
    private readonly Counter<long> _orphanChunks;
    private readonly Histogram<double> _recoveryDuration;
    private readonly Counter<long> _copiedForward;
    private readonly Counter<long> _copiedForwardBytes;
    private readonly Counter<long> _storageWriteFailures;
    private readonly Counter<long> _committerRestarts;
    private Func<bool>? _available;
    private long _beginAddress;
    private long _commitsIssued;
    private long _messagesCommittedTotal;

    public SpoolMetrics(IMeterFactory meters)
    {
        Meter meter = meters.Create(MeterName);
        _messagesCommitted = meter.CreateCounter<long>("fastmta.spool.messages.committed", "{message}",
            "Messages made durable in the spool (each one was answered 250). Compare with SMTP DATA attempts to spot spool refusals.");
        _bodyBytesCommitted = meter.CreateCounter<long>("fastmta.spool.body.committed", "By",
            "Message body bytes made durable in the spool; the write volume the disk must sustain.");
        _commits = meter.CreateCounter<long>("fastmta.spool.commits", "{commit}",
            "FasterLog commits issued by the group committer. Far fewer than messages under load: each commit is shared.");
        _commitDuration = meter.CreateHistogram("fastmta.spool.commit.duration", "s",
            "Time for one group commit to reach stable storage. Rising values mean the disk is the bottleneck and SMTP replies slow down.",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = CommitSeconds });
        _messagesPerCommit = meter.CreateHistogram<int>("fastmta.spool.commit.messages", "{message}",
            "Messages acknowledged by one group commit. Near 1 means light load or a slow committer wake-up; higher means batching works.");
        _commitFailures = meter.CreateCounter<long>("fastmta.spool.commit.failures", "{failure}",
            "Messages refused by the spool after DATA, by reason: timeout (commit or log memory slower than CommitTimeout, i.e. back-pressure; SMTP 451 4.3.0), no_space (the disk is full; 452 4.3.1), storage_error (another write error; 451 4.3.0), error (the committer failed; 451 4.3.0), shutdown.");
        _orphanChunks = meter.CreateCounter<long>("fastmta.spool.orphan.chunks.skipped", "{chunk}",
            "Body chunks without a committed envelope (RSET, client disconnected mid-DATA) skipped while reading the spool. They use disk until space is reclaimed.");
        _copiedForward = meter.CreateCounter<long>("fastmta.spool.messages.copied_forward", "{message}",
            "Long-lived (deferred) messages re-appended near the log tail so that the old segments they sat in can be reclaimed.");
        _copiedForwardBytes = meter.CreateCounter<long>("fastmta.spool.body.copied_forward", "By",
            "Body bytes rewritten by copy-forward; the write amplification that space reclamation costs.");
        meter.CreateObservableGauge("fastmta.spool.begin.address", () => Volatile.Read(ref _beginAddress), "By",
            "The spool log's begin address after the last truncation; rising means space is reclaimed.");
        _storageWriteFailures = meter.CreateCounter<long>("fastmta.spool.storage.write_failures", "{write}",
            "Spool writes that failed and are held for a retry (each retry that fails counts again), by kind: no_space (ENOSPC, EDQUOT), io_error. Rising means the spool refuses mail.");
        _committerRestarts = meter.CreateCounter<long>("fastmta.spool.committer.restarts", "{restart}",
            "Times the group committer failed with an unexpected error and was restarted. Any value above 0 deserves a look at the log.");
        meter.CreateObservableGauge("fastmta.spool.available", () => Volatile.Read(ref _available)?.Invoke() == false ? 0 : 1, "{state}",
            "1 while the spool accepts mail, 0 while it refuses all of it (disk full, storage error, committer failed); /health says why.");
        _recoveryDuration = meter.CreateHistogram("fastmta.spool.recovery.duration", "s",
            "Time to open, recover and verify the spool at start-up.",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = RecoverySeconds });
    }

    public long CommitsIssued => Volatile.Read(ref _commitsIssued);

    public long MessagesCommitted => Volatile.Read(ref _messagesCommittedTotal);

    public void MessageCommitted(long bodyBytes)
    {
        Interlocked.Increment(ref _messagesCommittedTotal);
        _messagesCommitted.Add(1);
        _bodyBytesCommitted.Add(bodyBytes);
    }

    public void CommitCompleted(double seconds, int messages)
    {
        Interlocked.Increment(ref _commitsIssued);
        _commits.Add(1);
        _commitDuration.Record(seconds);
        _messagesPerCommit.Record(messages);
    }

    public void CommitFailed(string reason, int messages) =>
        _commitFailures.Add(messages, new KeyValuePair<string, object?>("reason", reason));

    public void OrphanChunksSkipped(long count)
    {
        if (count > 0)
        {
            _orphanChunks.Add(count);
        }
    }

    public void MessageCopiedForward(long bodyBytes)
    {
        _copiedForward.Add(1);
        _copiedForwardBytes.Add(bodyBytes);
    }

    public void Truncated(long newBegin) => Volatile.Write(ref _beginAddress, newBegin);

    /// <summary>What the availability gauge reports (set once the spool exists).</summary>
    public void ObserveAvailability(Func<bool> isAvailable) => Volatile.Write(ref _available, isAvailable);

    public void StorageWriteFailed(StorageFaultKind kind) =>
        _storageWriteFailures.Add(1, new KeyValuePair<string, object?>("kind", kind == StorageFaultKind.NoSpace ? "no_space" : "io_error"));

    public void CommitterRestarted() => _committerRestarts.Add(1);

    public void RecoveryCompleted(double seconds) => _recoveryDuration.Record(seconds);

    // The factory's meter outlives the spool: the availability gauge lets go of it and reads 0 (a closed spool takes no mail).
    public void Dispose() => Volatile.Write(ref _available, static () => false);
}
