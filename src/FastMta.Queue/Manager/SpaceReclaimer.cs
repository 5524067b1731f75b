using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>
/// Space reclamation. The spool is one log; a message's records can go once all its recipients are final. The log is
/// truncated before the oldest live message, and a live message too far behind the tail (a long-deferred one) is
/// copied forward with its states so it stops pinning everything after it. Disk use stays about live data plus
/// CopyForwardDistance. Called without the gate.
/// </summary>
internal sealed class SpaceReclaimer(QueueGate gate, MessageIndex index, MessageSpool spool, QueueOptions options, QueueMetrics metrics,
    ILogger logger, TimeProvider time)
{
    // Bounds one pass so a huge backlog of old messages is moved gradually, not in one burst of writes.
    private const int MaxCopiesPerPass = 256;

    /// <summary>The maintenance loop's body, run (and restarted after a failure) by its <see cref="SupervisedLoop"/>.</summary>
    public async Task RunAsync(SupervisedLoop loop, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimerSpan.Clamp(options.MaintenanceInterval), time);
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
        {
            await ReclaimAsync(stop).ConfigureAwait(false);
            loop.Progress();
        }
    }

    /// <summary>One reclamation pass: copy forward what is too old, then truncate before the oldest live message.</summary>
    public async Task ReclaimAsync(CancellationToken cancellationToken)
    {
        for (int copies = 0; copies < MaxCopiesPerPass; copies++)
        {
            QueuedMessage? oldest = TakeOldestToMove();
            if (oldest is null)
            {
                break;
            }

            if (!await CopyForwardAsync(oldest, cancellationToken).ConfigureAwait(false))
            {
                break;
            }
        }

        try
        {
            spool.Truncate(OldestLiveAddress);
        }
        catch (Exception e)
        {
            metrics.Error("truncate");
            Log.TruncateFailed(logger, e);
        }
    }

    private long OldestLiveAddress()
    {
        lock (gate.Lock)
        {
            return index.OldestLiveAddress;
        }
    }

    // The oldest live message if it lies more than CopyForwardDistance behind the tail and is idle (nothing in flight):
    // marked Moving so that nothing is planned for it meanwhile. A busy oldest message is left for the next pass.
    private QueuedMessage? TakeOldestToMove()
    {
        lock (gate.Lock)
        {
            if (index.Oldest is not { } oldest || gate.StopRequested)
            {
                return null;
            }

            if (spool.TailAddress - oldest.Envelope.FirstAddress <= options.CopyForwardDistance || oldest.InFlightCount > 0)
            {
                return null;
            }

            oldest.Moving = true;
            return oldest;
        }
    }

    private async Task<bool> CopyForwardAsync(QueuedMessage message, CancellationToken cancellationToken)
    {
        SpooledEnvelope moved;
        try
        {
            moved = await spool.CopyForwardAsync(message.Envelope, message.StatesToCarry(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (gate.Lock)
            {
                message.Moving = false;
                index.Schedule(message, message.NextDueMs());
            }

            if (e is not OperationCanceledException)
            {
                metrics.Error("copy_forward");
                Log.CopyForwardFailed(logger, message.Envelope.Id.ToString(), e);
            }

            return false;
        }

        lock (gate.Lock)
        {
            index.Move(message, moved);
            message.Moving = false;
            index.Schedule(message, message.NextDueMs());
        }

        gate.Signal();
        return true;
    }
}
