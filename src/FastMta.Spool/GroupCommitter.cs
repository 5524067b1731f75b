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
/// </summary>
internal sealed class GroupCommitter
{
    private const long WatermarkBytes = 64L << 20;
    private static readonly long WatermarkInterval = Stopwatch.Frequency; // one second

    private readonly FasterLog log;
    private readonly SpoolMetrics metrics;
    private readonly ILogger logger;
    private readonly string directory;
    private readonly TimeSpan commitTimeout;
    private readonly long commitTimeoutTicks;
    private readonly Channel<bool> wakeUp = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly object gate = new();
    private readonly List<CommitAwaiter> pending = new(256);
    private readonly Timer sweepTimer;
    private readonly Task loop;
    private volatile Exception? failure; // a commit failed: the spool is out of service
    private volatile Exception? stopped; // the committer has exited (shutdown or failure)
    private volatile bool stopping;
    private bool commitRequested;
    private long watermark;
    private long watermarkWrittenAt;
    private Task watermarkTask = Task.CompletedTask;

    public GroupCommitter(FasterLog log, SpoolMetrics metrics, ILogger logger, string directory, TimeSpan commitTimeout, long watermark)
    {
        this.log = log;
        this.metrics = metrics;
        this.logger = logger;
        this.directory = directory;
        this.commitTimeout = commitTimeout;
        commitTimeoutTicks = (long)(commitTimeout.TotalSeconds * Stopwatch.Frequency);
        this.watermark = watermark;
        watermarkWrittenAt = Stopwatch.GetTimestamp();
        TimeSpan sweep = TimeSpan.FromTicks(Math.Clamp(commitTimeout.Ticks / 8, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        sweepTimer = new Timer(static s => ((GroupCommitter)s!).SweepTimeouts(), this, sweep, sweep);
        loop = Task.Run(RunAsync);
    }

    /// <summary>Test seam: awaited before each commit (simulates a stalled disk).</summary>
    internal Func<Task>? BeforeCommitForTests { get; set; }

    /// <summary>The last watermark written (tests).</summary>
    internal long Watermark => Volatile.Read(ref watermark);

    /// <summary>Why the spool cannot take mail now, or null.</summary>
    public Exception? Unavailable => failure ?? stopped;

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
                awaiter.TryComplete(new SpoolUnavailableException(error.Message, error));
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

    /// <summary>Stops after a final commit of everything appended so far; fails waiters that remain.</summary>
    public async Task StopAsync()
    {
        stopping = true;
        wakeUp.Writer.TryWrite(true);
        await loop.ConfigureAwait(false);
        await sweepTimer.DisposeAsync().ConfigureAwait(false);
        await watermarkTask.ConfigureAwait(false);
        if (failure is null && log.CommittedUntilAddress > Volatile.Read(ref watermark))
        {
            WriteWatermark(log.CommittedUntilAddress);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                if (log.TailAddress <= log.CommittedUntilAddress && !Volatile.Read(ref commitRequested))
                {
                    // Late registrations whose address an earlier commit already covered.
                    CompleteCommitted(log.CommittedUntilAddress);
                    if (stopping)
                    {
                        break;
                    }

                    await wakeUp.Reader.WaitToReadAsync().ConfigureAwait(false);
                    wakeUp.Reader.TryRead(out _);
                    continue;
                }

                long started = Stopwatch.GetTimestamp();
                if (BeforeCommitForTests is { } delay)
                {
                    await delay().ConfigureAwait(false);
                }

                Volatile.Write(ref commitRequested, false);
                await log.CommitAsync().ConfigureAwait(false);
                long committed = log.CommittedUntilAddress;
                double elapsedSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

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
        catch (Exception e)
        {
            Log.CommitFailed(logger, e);
            failure = new SpoolUnavailableException("The spool failed to commit to disk and no longer accepts mail: " + e.Message, e);
        }
        finally
        {
            Exception reason = failure ?? new SpoolUnavailableException("The spool is shutting down.");
            lock (gate)
            {
                stopped = reason; // under the lock: no registration can slip in after FailAll
            }

            int failed = FailAll(reason);
            if (failed > 0)
            {
                metrics.CommitFailed(failure is null ? "shutdown" : "error", failed);
            }
        }
    }

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

    private int FailAll(Exception reason)
    {
        int failed = 0;
        lock (gate)
        {
            foreach (CommitAwaiter awaiter in pending)
            {
                if (awaiter.TryComplete(new SpoolUnavailableException(reason.Message, reason)))
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
                    if (awaiter.TryComplete(new SpoolUnavailableException($"The spool commit did not complete within {commitTimeout.TotalSeconds:0.###} s (disk too slow or stalled).")))
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
