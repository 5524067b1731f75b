using FastMta.Spool;

namespace FastMta.Queue;

// Space reclamation. The spool is one log; a message's records can go once all its recipients are final. The log is
// truncated before the oldest live message, and a live message too far behind the tail (a long-deferred one) is
// copied forward with its states so it stops pinning everything after it. Disk use stays about live data plus
// CopyForwardDistance.
public sealed partial class QueueManager
{
    // Bounds one pass so a huge backlog of old messages is moved gradually, not in one burst of writes.
    private const int MaxCopiesPerPass = 256;

    // Space reclamation's body, run (and restarted after a failure) by maintenanceLoop.
    private async Task RunMaintenanceAsync(SupervisedLoop loop, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimerSpan.Clamp(_options.MaintenanceInterval), _time);
        while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
        {
            await ReclaimAsync(stop).ConfigureAwait(false);
            loop.Progress();
        }
    }

    /// <summary>One reclamation pass: copy forward what is too old, then truncate before the oldest live message.</summary>
    internal async Task ReclaimAsync(CancellationToken cancellationToken)
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
            _spool.Truncate(OldestLiveAddress);
        }
        catch (Exception e)
        {
            _metrics.Error("truncate");
            Log.TruncateFailed(_logger, e);
        }
    }

    // The oldest live message if it lies more than CopyForwardDistance behind the tail and is idle (nothing in flight):
    // marked Moving so that nothing is planned for it meanwhile. A busy oldest message is left for the next pass.
    private QueuedMessage? TakeOldestToMove()
    {
        lock (_gate)
        {
            if (_firstAddresses.Count == 0 || _stopRequested)
            {
                return null;
            }

            QueuedMessage oldest = _byFirstAddress[_firstAddresses.Min];
            if (_spool.TailAddress - oldest.Envelope.FirstAddress <= _options.CopyForwardDistance || oldest.InFlightCount > 0)
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
            moved = await _spool.CopyForwardAsync(message.Envelope, message.StatesToCarry(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (_gate)
            {
                message.Moving = false;
                Schedule(message, message.NextDueMs());
            }

            if (e is not OperationCanceledException)
            {
                _metrics.Error("copy_forward");
                Log.CopyForwardFailed(_logger, message.Envelope.Id.ToString(), e);
            }

            return false;
        }

        lock (_gate)
        {
            long old = message.Envelope.FirstAddress;
            _byFirstAddress.Remove(old);
            _firstAddresses.Remove(old);
            message.Envelope = moved;
            _byFirstAddress.Add(moved.FirstAddress, message);
            _firstAddresses.Add(moved.FirstAddress);
            message.Moving = false;
            Schedule(message, message.NextDueMs());
        }

        Signal();
        return true;
    }

    /// <summary>Collects live messages during the start-up scan: envelopes, their recorded states, copy-forward moves.</summary>
    private sealed class RebuildVisitor : ISpoolVisitor
    {
        public Dictionary<long, QueuedMessage> Messages { get; } = [];

        /// <summary>Messages dropped during the scan because every recipient was final.</summary>
        public int Finished { get; private set; }

        public void OnEnvelope(SpooledEnvelope envelope)
        {
            if (envelope.ReplacesAddress is long replaced)
            {
                Messages.Remove(replaced); // the copy carries the states recorded so far
            }

            Messages[envelope.LogAddress] = new QueuedMessage(envelope);
        }

        public void OnStates(long envelopeAddress, ReadOnlySpan<RecipientState> states)
        {
            if (Messages.TryGetValue(envelopeAddress, out QueuedMessage? message))
            {
                foreach (RecipientState state in states)
                {
                    message.Apply(state);
                }

                if (message.Remaining == 0)
                {
                    Messages.Remove(envelopeAddress); // keeps the scan's memory to live messages
                    Finished++;
                }
            }
        }
    }
}
