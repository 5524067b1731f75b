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

    private readonly FasterLog log;
    private readonly SpoolMetrics metrics;
    private readonly ILogger logger;
    private readonly StorageHealth storage;
    private readonly string directory;
    private readonly TimeSpan commitTimeout;
    private readonly long commitTimeoutTicks;
    private readonly Channel<bool> wakeUp = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly object gate = new();
    private readonly List<CommitAwaiter> pending = new(256);
    private readonly Timer sweepTimer;
    private readonly Task loop;
    private readonly CancellationTokenSource stoppingToken = new();
    private volatile SpoolUnavailableException? failure; // the loop failed: out of service until a commit succeeds
    private volatile SpoolUnavailableException? stopped; // the committer has exited (shutdown)
    private volatile bool stopping;
    private int consecutiveFailures;
    private bool commitRequested;
    private long watermark;
    private long watermarkWrittenAt;
    private Task watermarkTask = Task.CompletedTask;

    public GroupCommitter(FasterLog log, SpoolMetrics metrics, ILogger logger, StorageHealth storage, string directory, TimeSpan commitTimeout, long watermark)
    {
        this.log = log;
        this.metrics = metrics;
        this.logger = logger;
        this.storage = storage;
        this.directory = directory;
        this.commitTimeout = commitTimeout;
        commitTimeoutTicks = (long)(commitTimeout.TotalSeconds * Stopwatch.Frequency);
        this.watermark = watermark;
        watermarkWrittenAt = Stopwatch.GetTimestamp();
        TimeSpan sweep = TimeSpan.FromTicks(Math.Clamp(commitTimeout.Ticks / 8, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        sweepTimer = new Timer(static s => ((GroupCommitter)s!).SweepTimeouts(), this, sweep, sweep);
        storage.Faulted += OnStorageFaulted;
        loop = Task.Run(RunAsync);
    }

    /// <summary>The last watermark written (tests).</summary>
    internal long Watermark => Volatile.Read(ref watermark);

    /// <summary>Why the spool cannot take mail now (shutting down, committer failed, storage faulted), or null. Cached: no allocation.</summary>
    public SpoolUnavailableException? Unavailable => stopped ?? failure ?? storage.Fault?.Refusal;

    /// <summary>Why appends are refused: shutting down or the committer failed (a storage fault refuses at the commit wait instead).</summary>
    public SpoolUnavailableException? RefusesAppends => stopped ?? failure;

    /// <summary>The committer's own failure (not the storage's), or null.</summary>
    public SpoolUnavailableException? Failure => failure;

    public long CommitTimeoutTicks => commitTimeoutTicks;

    public TimeSpan CommitTimeout => commitTimeout;

    /// <summary>Registers a wait for the commit of <paramref name="address"/> and wakes the committer.</summary>
    public ValueTask WaitForCommitAsync(CommitAwaiter awaiter, long address, CancellationToken cancellationToken)
    {
        awaiter.Arm(address, Stopwatch.GetTimestamp() + commitTimeoutTicks);
        lock (gate)
        {
            if (failure is null && log.CommittedUntilAddress > address)
            {
                awaiter.TryComplete(null); // already durable (also after the final commit of a shutdown)
            }
            else if (Unavailable is { } error)
            {
                awaiter.TryComplete(Copy(error));
            }
            else
            {
                pending.Add(awaiter);
            }
        }

        wakeUp.Writer.TryWrite(true);
        return awaiter.AsValueTask(cancellationToken);
    }

    /// <summary>Asks for a commit even if nothing was appended: a truncation takes effect only at the next commit.</summary>
    public void RequestCommit()
    {
        Volatile.Write(ref commitRequested, true);
        wakeUp.Writer.TryWrite(true);
    }

    /// <summary>
    /// Stops after a final commit of everything appended so far; fails waiters that remain. While the storage is
    /// faulted the final commit may never complete: after a bound (CommitTimeout; at most 5 s when the storage is
    /// already faulted) the held writes are given up (they complete with their error, which ends the commit) and the
    /// unacknowledged messages they carried are dropped.
    /// </summary>
    public async Task StopAsync()
    {
        TimeSpan bound = storage.Fault is null ? commitTimeout : TimeSpan.FromTicks(Math.Min(commitTimeout.Ticks, TimeSpan.TicksPerSecond * 5));
        stopping = true;
        stoppingToken.Cancel();
        wakeUp.Writer.TryWrite(true);
        if (!await WaitAsync(loop, bound).ConfigureAwait(false))
        {
            Log.FinalCommitAbandoned(logger, bound.TotalMilliseconds, storage.Fault?.Description ?? "the commit did not return");
            storage.GiveUp();
            await WaitAsync(loop, storage.RetryInterval + bound).ConfigureAwait(false);
        }

        storage.Faulted -= OnStorageFaulted;
        stoppingToken.Dispose();
        await sweepTimer.DisposeAsync().ConfigureAwait(false);
        await watermarkTask.ConfigureAwait(false);
        if (failure is null && storage.Fault is null && log.CommittedUntilAddress > Volatile.Read(ref watermark))
        {
            WriteWatermark(log.CommittedUntilAddress);
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
                    int failures = ++consecutiveFailures;
                    TimeSpan delay = TimeSpan.FromMilliseconds(Math.Min(MaxRestartDelay.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(failures - 1, 10))));
                    metrics.CommitterRestarted();
                    failure = new SpoolUnavailableException(SpoolUnavailableReason.StorageFailed, "The spool committer failed: " + e.Message, e);
                    Log.CommitterFailed(logger, e, failures, delay.TotalMilliseconds);
                    int failed = FailAll(failure);
                    if (failed > 0)
                    {
                        metrics.CommitFailed("error", failed);
                    }

                    if (stopping)
                    {
                        return;
                    }

                    try
                    {
                        await Task.Delay(delay, stoppingToken.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // stopping: one more pass makes the final commit if the log still takes one
                    }

                    Volatile.Write(ref commitRequested, true); // the restarted loop tries a commit at once: its success clears the failure
                }
            }
        }
        finally
        {
            var reason = new SpoolUnavailableException(SpoolUnavailableReason.ShuttingDown, "The spool is shutting down.");
            lock (gate)
            {
                stopped = reason; // under the lock: no registration can slip in after FailAll
            }

            int failed = FailAll(reason);
            if (failed > 0)
            {
                metrics.CommitFailed("shutdown", failed);
            }
        }
    }

    private async Task CommitLoopAsync()
    {
        while (true)
        {
            if (log.TailAddress <= log.CommittedUntilAddress && !Volatile.Read(ref commitRequested))
            {
                // Late registrations whose address an earlier commit already covered.
                CompleteCommitted(log.CommittedUntilAddress);
                if (stopping)
                {
                    return;
                }

                await wakeUp.Reader.WaitToReadAsync().ConfigureAwait(false);
                wakeUp.Reader.TryRead(out _);
                continue;
            }

            long started = Stopwatch.GetTimestamp();
            Volatile.Write(ref commitRequested, false);
            await log.CommitAsync().ConfigureAwait(false);
            long committed = log.CommittedUntilAddress;
            double elapsedSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (failure is not null)
            {
                Log.CommitterRecovered(logger, consecutiveFailures);
                consecutiveFailures = 0;
                failure = null;
            }

            if (Volatile.Read(ref watermark) <= SpoolFiles.FirstAddress && committed > SpoolFiles.FirstAddress)
            {
                // The first commit of a fresh spool is acknowledged only once the watermark shows it; recovery
                // can then tell "never acknowledged anything" from "lost its commit metadata".
                WriteWatermark(committed);
            }

            int completed = CompleteCommitted(committed);
            metrics.CommitCompleted(elapsedSeconds, completed);
            MaybeWriteWatermark(committed);
        }
    }

    /// <summary>The storage faulted: the waiters' commit cannot complete before a held write succeeds, so refuse them now.</summary>
    private void OnStorageFaulted(StorageFault fault)
    {
        int failed = FailAll(fault.Refusal);
        if (failed > 0)
        {
            metrics.CommitFailed(fault.Kind == StorageFaultKind.NoSpace ? "no_space" : "storage_error", failed);
        }
    }

    /// <summary>A new exception per refused waiter: one instance thrown on many threads would mix their stack traces.</summary>
    private static SpoolUnavailableException Copy(SpoolUnavailableException reason) =>
        reason.InnerException is { } cause ? new(reason.Reason, reason.Message, cause) : new(reason.Reason, reason.Message);

    private int CompleteCommitted(long committedUntil)
    {
        int completed = 0;
        lock (gate)
        {
            for (int i = pending.Count - 1; i >= 0; i--)
            {
                CommitAwaiter awaiter = pending[i];
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
        lock (gate)
        {
            foreach (CommitAwaiter awaiter in pending)
            {
                if (awaiter.TryComplete(Copy(reason)))
                {
                    failed++;
                }
            }

            pending.Clear();
        }

        return failed;
    }

    private void SweepTimeouts()
    {
        long now = Stopwatch.GetTimestamp();
        int timedOut = 0;
        lock (gate)
        {
            for (int i = pending.Count - 1; i >= 0; i--)
            {
                CommitAwaiter awaiter = pending[i];
                if (awaiter.IsDone)
                {
                    RemoveAt(i);
                }
                else if (now >= awaiter.DeadlineTimestamp)
                {
                    if (awaiter.TryComplete(new SpoolUnavailableException(SpoolUnavailableReason.BackPressure, $"The spool commit did not complete within {commitTimeout.TotalSeconds:0.###} s (disk too slow or stalled).")))
                    {
                        timedOut++;
                    }

                    RemoveAt(i);
                }
            }
        }

        if (timedOut > 0)
        {
            metrics.CommitFailed("timeout", timedOut);
            Log.CommitTimedOut(logger, timedOut, commitTimeout.TotalMilliseconds);
        }
    }

    private void RemoveAt(int index)
    {
        int last = pending.Count - 1;
        pending[index] = pending[last];
        pending.RemoveAt(last);
    }

    private void MaybeWriteWatermark(long committed)
    {
        long current = Volatile.Read(ref watermark);
        if (committed <= current || !watermarkTask.IsCompleted)
        {
            return;
        }

        if (committed - current < WatermarkBytes && Stopwatch.GetTimestamp() - watermarkWrittenAt < WatermarkInterval)
        {
            return;
        }

        watermarkWrittenAt = Stopwatch.GetTimestamp();
        watermarkTask = Task.Run(() => WriteWatermark(committed));
    }

    private void WriteWatermark(long committed)
    {
        try
        {
            SpoolWatermark.Write(directory, committed);
            Volatile.Write(ref watermark, committed);
        }
        catch (Exception e)
        {
            Log.WatermarkFailed(logger, e);
        }
    }
}
