using System.Diagnostics;
using System.Threading.Channels;
using FASTER.core;
using Microsoft.Extensions.Logging;

namespace FastMta.Spool;

/// <summary>
/// The single committer. Writers append, register the address of their envelope and wait; this task issues one
/// FasterLog commit at a time, starting the next as soon as the previous one finished if there is uncommitted data,
/// and completes every waiter whose address the commit covered. A sweep fails waiters older than CommitTimeout.
/// It also keeps the recovery watermark (see <see cref="SpoolWatermark"/>) current, off the hot path.
/// When the storage faults (<see cref="StorageHealth"/>: a write failed and is held for a retry), every waiter is
/// refused at once with the fault's reason instead of at its deadline, and new ones are refused until the held write
/// succeeds; the commit in flight simply completes later. When the loop itself fails (an exception from FasterLog or
/// a bug), it is restarted after a back-off, logged and counted each time, and the spool reports the failure
/// (<see cref="Unavailable"/>, /health) until a commit succeeds again.
/// </summary>
internal sealed class GroupCommitter
{
    private const long WatermarkBytes = 64L << 20;
    private static readonly long WatermarkInterval = Stopwatch.Frequency; // one second
    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromSeconds(30);

    private readonly FasterLog _log;
    private readonly SpoolMetrics _metrics;
    private readonly ILogger _logger;
    private readonly StorageHealth _storage;
    private readonly string _directory;
    private readonly TimeSpan _commitTimeout;
    private readonly long _commitTimeoutTicks;
    private readonly Channel<bool> _wakeUp = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly object _gate = new();
    private readonly List<CommitAwaiter> _pending = new(256);
    private readonly Timer _sweepTimer;
    private readonly Task _loop;
    private readonly CancellationTokenSource _stoppingToken = new();
    private volatile SpoolOutOfServiceException? _failure; // the loop failed: out of service until a commit succeeds
    private volatile SpoolOutOfServiceException? _stopped; // the committer has exited (shutdown)
    private volatile bool _stopping;
    private int _consecutiveFailures;
    private bool _commitRequested;
    private long _watermark;
    private long _watermarkWrittenAt;
    private Task _watermarkTask = Task.CompletedTask;

    public GroupCommitter(FasterLog log, SpoolMetrics metrics, ILogger logger, StorageHealth storage, string directory, TimeSpan commitTimeout, long watermark)
    {
        _log = log;
        _metrics = metrics;
        _logger = logger;
        _storage = storage;
        _directory = directory;
        _commitTimeout = commitTimeout;
        _commitTimeoutTicks = (long)(commitTimeout.TotalSeconds * Stopwatch.Frequency);
        _watermark = watermark;
        _watermarkWrittenAt = Stopwatch.GetTimestamp();
        TimeSpan sweep = TimeSpan.FromTicks(Math.Clamp(commitTimeout.Ticks / 8, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _sweepTimer = new Timer(static s => ((GroupCommitter)s!).SweepTimeouts(), this, sweep, sweep);
        storage.Faulted += OnStorageFaulted;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The last watermark written (tests).</summary>
    internal long Watermark => Volatile.Read(ref _watermark);

    /// <summary>Why the spool cannot take mail now (shutting down, committer failed, storage faulted), or null. Cached: no allocation.</summary>
    public SpoolOutOfServiceException? Unavailable => _stopped ?? _failure ?? _storage.Fault?.Refusal;

    /// <summary>Why appends are refused: shutting down or the committer failed (a storage fault refuses at the commit wait instead).</summary>
    public SpoolOutOfServiceException? RefusesAppends => _stopped ?? _failure;

    /// <summary>The committer's own failure (not the storage's), or null.</summary>
    public SpoolOutOfServiceException? Failure => _failure;

    public long CommitTimeoutTicks => _commitTimeoutTicks;

    public TimeSpan CommitTimeout => _commitTimeout;

    /// <summary>Registers a wait for the commit of <paramref name="address"/> and wakes the committer.</summary>
    public ValueTask WaitForCommitAsync(CommitAwaiter awaiter, long address, CancellationToken cancellationToken)
    {
        awaiter.Arm(address, Stopwatch.GetTimestamp() + _commitTimeoutTicks);
        lock (_gate)
        {
            if (_failure is null && _log.CommittedUntilAddress > address)
            {
                awaiter.TryComplete(null); // already durable (also after the final commit of a shutdown)
            }
            else if (Unavailable is { } error)
            {
                awaiter.TryComplete(Copy(error));
            }
            else
            {
                _pending.Add(awaiter);
            }
        }

        _wakeUp.Writer.TryWrite(true);
        return awaiter.AsValueTask(cancellationToken);
    }

    /// <summary>Asks for a commit even if nothing was appended: a truncation takes effect only at the next commit.</summary>
    public void RequestCommit()
    {
        Volatile.Write(ref _commitRequested, true);
        _wakeUp.Writer.TryWrite(true);
    }

    /// <summary>
    /// Stops after a final commit of everything appended so far; fails waiters that remain. While the storage is
    /// faulted the final commit may never complete: after a bound (CommitTimeout; at most 5 s when the storage is
    /// already faulted) the held writes are given up (they complete with their error, which ends the commit) and the
    /// unacknowledged messages they carried are dropped.
    /// </summary>
    public async Task StopAsync()
    {
        TimeSpan bound = _storage.Fault is null ? _commitTimeout : TimeSpan.FromTicks(Math.Min(_commitTimeout.Ticks, TimeSpan.TicksPerSecond * 5));
        _stopping = true;
        _stoppingToken.Cancel();
        _wakeUp.Writer.TryWrite(true);
        if (!await WaitAsync(_loop, bound).ConfigureAwait(false))
        {
            Log.FinalCommitAbandoned(_logger, bound.TotalMilliseconds, _storage.Fault?.Description ?? "the commit did not return");
            _storage.GiveUp();
            await WaitAsync(_loop, _storage.RetryInterval + bound).ConfigureAwait(false);
        }

        _storage.Faulted -= OnStorageFaulted;
        _stoppingToken.Dispose();
        await _sweepTimer.DisposeAsync().ConfigureAwait(false);
        await _watermarkTask.ConfigureAwait(false);
        if (_failure is null && _storage.Fault is null && _log.CommittedUntilAddress > Volatile.Read(ref _watermark))
        {
            WriteWatermark(_log.CommittedUntilAddress);
        }
    }

    private static async Task<bool> WaitAsync(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                try
                {
                    await CommitLoopAsync().ConfigureAwait(false);
                    return; // stopping
                }
                catch (Exception e)
                {
                    int failures = ++_consecutiveFailures;
                    TimeSpan delay = TimeSpan.FromMilliseconds(Math.Min(MaxRestartDelay.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(failures - 1, 10))));
                    _metrics.CommitterRestarted();
                    _failure = new SpoolOutOfServiceException(SpoolUnavailableReason.StorageFailed, "The spool committer failed: " + e.Message, e);
                    Log.CommitterFailed(_logger, e, failures, delay.TotalMilliseconds);
                    int failed = FailAll(_failure);
                    if (failed > 0)
                    {
                        _metrics.CommitFailed("error", failed);
                    }

                    if (_stopping)
                    {
                        return;
                    }

                    try
                    {
                        await Task.Delay(delay, _stoppingToken.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // stopping: one more pass makes the final commit if the log still takes one
                    }

                    Volatile.Write(ref _commitRequested, true); // the restarted loop tries a commit at once: its success clears the failure
                }
            }
        }
        finally
        {
            var reason = new SpoolOutOfServiceException(SpoolUnavailableReason.ShuttingDown, "The spool is shutting down.");
            lock (_gate)
            {
                _stopped = reason; // under the lock: no registration can slip in after FailAll
            }

            int failed = FailAll(reason);
            if (failed > 0)
            {
                _metrics.CommitFailed("shutdown", failed);
            }
        }
    }

    private async Task CommitLoopAsync()
    {
        while (true)
        {
            if (_log.TailAddress <= _log.CommittedUntilAddress && !Volatile.Read(ref _commitRequested))
            {
                // Late registrations whose address an earlier commit already covered.
                CompleteCommitted(_log.CommittedUntilAddress);
                if (_stopping)
                {
                    return;
                }

                await _wakeUp.Reader.WaitToReadAsync().ConfigureAwait(false);
                _wakeUp.Reader.TryRead(out _);
                continue;
            }

            long started = Stopwatch.GetTimestamp();
            Volatile.Write(ref _commitRequested, false);
            await _log.CommitAsync().ConfigureAwait(false);
            long committed = _log.CommittedUntilAddress;
            double elapsedSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (_failure is not null)
            {
                Log.CommitterRecovered(_logger, _consecutiveFailures);
                _consecutiveFailures = 0;
                _failure = null;
            }

            if (Volatile.Read(ref _watermark) <= SpoolFiles.FirstAddress && committed > SpoolFiles.FirstAddress)
            {
                // The first commit of a fresh spool is acknowledged only once the watermark shows it; recovery
                // can then tell "never acknowledged anything" from "lost its commit metadata".
                WriteWatermark(committed);
            }

            int completed = CompleteCommitted(committed);
            _metrics.CommitCompleted(elapsedSeconds, completed);
            MaybeWriteWatermark(committed);
        }
    }

    /// <summary>The storage faulted: the waiters' commit cannot complete before a held write succeeds, so refuse them now.</summary>
    private void OnStorageFaulted(StorageFault fault)
    {
        int failed = FailAll(fault.Refusal);
        if (failed > 0)
        {
            _metrics.CommitFailed(fault.Kind == StorageFaultKind.NoSpace ? "no_space" : "storage_error", failed);
        }
    }

    /// <summary>A new exception per refused waiter: one instance thrown on many threads would mix their stack traces.</summary>
    private static SpoolUnavailableException Copy(SpoolUnavailableException reason) => reason.Copy();

    private int CompleteCommitted(long committedUntil)
    {
        int completed = 0;
        lock (_gate)
        {
            for (int i = _pending.Count - 1; i >= 0; i--)
            {
                CommitAwaiter awaiter = _pending[i];
                if (awaiter.IsDone)
                {
                    RemoveAt(i);
                }
                else if (awaiter.Address < committedUntil)
                {
                    if (awaiter.TryComplete(null))
                    {
                        completed++;
                    }

                    RemoveAt(i);
                }
            }
        }

        return completed;
    }

    private int FailAll(SpoolUnavailableException reason)
    {
        int failed = 0;
        lock (_gate)
        {
            foreach (CommitAwaiter awaiter in _pending)
            {
                if (awaiter.TryComplete(Copy(reason)))
                {
                    failed++;
                }
            }

            _pending.Clear();
        }

        return failed;
    }

    private void SweepTimeouts()
    {
        long now = Stopwatch.GetTimestamp();
        int timedOut = 0;
        lock (_gate)
        {
            for (int i = _pending.Count - 1; i >= 0; i--)
            {
                CommitAwaiter awaiter = _pending[i];
                if (awaiter.IsDone)
                {
                    RemoveAt(i);
                }
                else if (now >= awaiter.DeadlineTimestamp)
                {
                    if (awaiter.TryComplete(new SpoolBusyException($"The spool commit did not complete within {_commitTimeout.TotalSeconds:0.###} s (disk too slow or stalled).")))
                    {
                        timedOut++;
                    }

                    RemoveAt(i);
                }
            }
        }

        if (timedOut > 0)
        {
            _metrics.CommitFailed("timeout", timedOut);
            Log.CommitTimedOut(_logger, timedOut, _commitTimeout.TotalMilliseconds);
        }
    }

    private void RemoveAt(int index)
    {
        int last = _pending.Count - 1;
        _pending[index] = _pending[last];
        _pending.RemoveAt(last);
    }

    private void MaybeWriteWatermark(long committed)
    {
        long current = Volatile.Read(ref _watermark);
        if (committed <= current || !_watermarkTask.IsCompleted)
        {
            return;
        }

        if (committed - current < WatermarkBytes && Stopwatch.GetTimestamp() - _watermarkWrittenAt < WatermarkInterval)
        {
            return;
        }

        _watermarkWrittenAt = Stopwatch.GetTimestamp();
        _watermarkTask = Task.Run(() => WriteWatermark(committed));
    }

    private void WriteWatermark(long committed)
    {
        try
        {
            SpoolWatermark.Write(_directory, committed);
            Volatile.Write(ref _watermark, committed);
        }
        catch (Exception e)
        {
            Log.WatermarkFailed(_logger, e);
        }
    }
}
