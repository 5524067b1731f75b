using System.Diagnostics.CodeAnalysis;
using FastMta.Shaping;
using FastMta.Spool;

namespace FastMta.Queue;

// Scheduling: the due-time heap, planning due recipients into per-destination transactions, and handing ready
// transactions to workers round-robin across destinations within the global and per-destination limits.
public sealed partial class QueueManager
{
    private readonly PriorityQueue<QueuedMessage, long> _due = new();
    private readonly Dictionary<DestinationKey, DestinationQueue> _destinations = [];
    private readonly Queue<DestinationQueue> _runnable = new();
    private int _deliveriesInFlight;
    private ITimer? _dueTimer; // only the scheduler task touches it
    private bool? _pausedOverride; // under the gate; null: QueueOptions.Paused

    // Planning state reused across passes (scheduler thread, under the gate): due recipient indexes of the message
    // being planned, and finished transactions. The pool is bounded (at most about 1 MiB of idle objects): when more
    // transactions than that come back at once, the rest is left to the GC. In a steady flow returns and rents
    // alternate, so the pool stays far below its bound.
    private const int MaxPooledWork = 16_384;
    private readonly Stack<DeliveryWork> _workPool = new();
    private int[] _planBuffer = new int[16];
    private int[] _planGroup = new int[16];

    /// <summary>
    /// While true nothing new is planned or launched (attempts already running finish); messages are still indexed.
    /// Starts as <see cref="QueueOptions.Paused"/>.
    /// </summary>
    public bool Paused
    {
        get
        {
            lock (_gate)
            {
                return _pausedOverride ?? _options.Paused;
            }
        }

        set
        {
            lock (_gate)
            {
                _pausedOverride = value;
            }

            Signal(); // a resumed scheduler plans what became due meanwhile
        }
    }

    /// <summary>Puts the message in the heap for <paramref name="dueMs"/> unless it is already due earlier.</summary>
    private void Schedule(QueuedMessage message, long dueMs)
    {
        if (dueMs == long.MaxValue || dueMs >= message.ScheduledDueMs)
        {
            return;
        }

        // An earlier entry for the message stays in the heap and is skipped when it comes out (ScheduledDueMs no
        // longer matches): cheaper than a heap with removal, and bounded by the number of reschedules.
        message.ScheduledDueMs = dueMs;
        _due.Enqueue(message, dueMs);
    }

    /// <summary>Test hook (Mta:Testing:SchedulerFaults, never documented for operators): the next N scheduling passes
    /// that find mail in the queue throw, so that tests can see the supervisor report, back off and heal. Under the gate.</summary>
    internal int SchedulerFaultsToInject { get; set; }

    // The scheduler's body, run (and restarted after a failure) by schedulerLoop.
    private async Task RunSchedulerAsync(SupervisedLoop loop, CancellationToken stop)
    {
        if (loop.Restarts > 0)
        {
            lock (_gate)
            {
                ResyncAfterFailure();
            }
        }

        while (!stop.IsCancellationRequested)
        {
            long nextDueMs;
            lock (_gate)
            {
                if (SchedulerFaultsToInject > 0 && _byFirstAddress.Count > 0)
                {
                    SchedulerFaultsToInject--;
                    throw new InvalidOperationException("Injected scheduler fault (test hook Mta:Testing:SchedulerFaults).");
                }

                if (_pausedOverride ?? _options.Paused)
                {
                    nextDueMs = long.MaxValue; // sleeps until resumed: Paused's setter signals
                }
                else
                {
                    long now = NowMs;
                    PlanDue(now);
                    long nextResumeMs = ExpireSuspensions(now);
                    UnparkDue(now);
                    LaunchReady(now); // may park destinations: the next unpark time is read after it
                    nextDueMs = Math.Min(Math.Min(nextResumeMs, NextUnparkMs()), _due.TryPeek(out _, out long next) ? next : long.MaxValue);
                }
            }

            loop.Progress();
            await WaitForWorkAsync(nextDueMs, stop).ConfigureAwait(false);
        }
    }

    // A pass that threw may have left the heap and the round-robin line out of step with the messages (one taken from
    // the heap and not planned yet, a destination marked runnable but not in line): both are rebuilt from the live
    // index before the restarted scheduler plans again. O(live messages + destinations), only after a failure.
    private void ResyncAfterFailure()
    {
        _due.Clear();
        foreach (QueuedMessage message in _byFirstAddress.Values)
        {
            message.ScheduledDueMs = long.MaxValue;
            Schedule(message, message.NextDueMs());
        }

        _runnable.Clear();
        foreach (DestinationQueue destination in _destinations.Values)
        {
            destination.Runnable = false;
            MakeRunnableIfReady(destination);
        }
    }

    // Sleeps until the next due time or a signal (new message, finished attempt, finished move): never polls. One
    // timer, re-armed per wait, signals the same channel as everything else, so a wait allocates nothing. A due time
    // beyond the longest wait a timer takes (49.7 days) wakes the scheduler early; it finds nothing due and re-arms.
    private async Task WaitForWorkAsync(long nextDueMs, CancellationToken stop)
    {
        if (_wake.Reader.TryRead(out _))
        {
            return;
        }

        _dueTimer ??= _time.CreateTimer(static state => ((QueueManager)state!).Signal(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _dueTimer.Change(nextDueMs == long.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimerSpan.FromMilliseconds(Math.Max(1, nextDueMs - NowMs)), Timeout.InfiniteTimeSpan);
        await _wake.Reader.WaitToReadAsync(stop).ConfigureAwait(false);
        _wake.Reader.TryRead(out _);
    }

    /// <summary>Turns the message's due recipients into transactions, one per domain (split at the recipient limit).</summary>
    /// <remarks>Allocation-free in steady state (checked by SchedulingAllocationTests): domains come precomputed and
    /// shared from the spool (SpooledRecipient.Domain), grouping works in reused index buffers instead of a
    /// dictionary of lists, and transactions come from a pool.</remarks>
    private void Plan(QueuedMessage message, long now)
    {
        if (message.Moving || message.Remaining == 0)
        {
            return; // a move reschedules the message when it is done; a finished message is about to be unindexed
        }

        IReadOnlyList<SpooledRecipient> recipients = message.Envelope.Recipients;
        int due = 0;
        int fromPending = 0;
        int fromDeferred = 0;
        for (int i = 0; i < message.States.Length; i++)
        {
            RecipientState state = message.States[i];
            if (state.IsFinal || message.IsInFlight(i) || state.NextAttemptUnixMs > now)
            {
                continue;
            }

            if (due == _planBuffer.Length)
            {
                Array.Resize(ref _planBuffer, Math.Max(16, _planBuffer.Length * 2)); // grows to the largest message once
            }

            _planBuffer[due++] = i;
            message.SetInFlight(i, true);
            if (state.Status == RecipientStatus.Deferred)
            {
                fromDeferred++;
            }
            else
            {
                fromPending++;
            }
        }

        if (due > 0)
        {
            _metrics.AttemptStarted(fromPending, fromDeferred);
            // Group by domain, keeping the envelope's order within each: take the first left's domain, move its
            // recipients to the group buffer and compact the rest. O(recipients x domains), no sort (a sort with a
            // comparer allocates a delegate), and domain strings are shared, so most comparisons are by reference.
            if (_planGroup.Length < _planBuffer.Length)
            {
                _planGroup = new int[_planBuffer.Length];
            }

            int maxPerTransaction = _options.MaxRecipientsPerTransaction;
            int left = due;
            while (left > 0)
            {
                string domain = recipients[_planBuffer[0]].Domain;
                int grouped = 0;
                int kept = 0;
                for (int k = 0; k < left; k++)
                {
                    int index = _planBuffer[k];
                    if (string.Equals(recipients[index].Domain, domain, StringComparison.Ordinal))
                    {
                        _planGroup[grouped++] = index;
                    }
                    else
                    {
                        _planBuffer[kept++] = index;
                    }
                }

                left = kept;
                for (int start = 0; start < grouped; start += maxPerTransaction)
                {
                    Enqueue(RentWork(message, domain, _planGroup.AsSpan(start, Math.Min(maxPerTransaction, grouped - start))));
                }
            }
        }

        Schedule(message, message.NextDueMs());
    }

    /// <summary>A transaction object from the pool (or a new one while the pool is empty).</summary>
    private DeliveryWork RentWork(QueuedMessage message, string domain, ReadOnlySpan<int> indexes)
    {
        if (_workPool.TryPop(out DeliveryWork? work))
        {
            work.Set(message, domain, indexes);
            return work;
        }

        return new DeliveryWork(message, domain, indexes);
    }

    /// <summary>Returns a finished transaction to the pool; nothing may use it afterwards. Under the gate.</summary>
    private void ReturnWork(DeliveryWork work)
    {
        if (_workPool.Count < MaxPooledWork)
        {
            work.Clear();
            _workPool.Push(work);
        }
    }

    private void Enqueue(DeliveryWork work)
    {
        var key = new DestinationKey(work.Message.Pool, work.Domain);
        bool created = false;
        if (!_destinations.TryGetValue(key, out DestinationQueue? destination))
        {
            _destinations[key] = destination = new DestinationQueue(key.Pool, key.Domain);
            created = true;
        }

        destination.Enqueue(work);
        if (created && _shaper is not null)
        {
            // Runnable once its site is known. A cached answer completes right here (the lock is re-entrant), so the
            // work must be in the queue first, or the empty queue would be dropped as idle.
            _ = ResolveSiteAsync(destination);
        }

        MakeRunnableIfReady(destination);
    }

    private void MakeRunnableIfReady(DestinationQueue destination)
    {
        if (!destination.Runnable && !destination.Parked && destination.ReadyCount > 0
            && destination.Active < _options.MaxConcurrencyPerDestination && (_shaper is null || destination.Site is not null))
        {
            destination.Runnable = true;
            _runnable.Enqueue(destination);
        }
    }

    // One transaction per destination per turn, then the destination goes to the back of the line: a domain with a
    // million queued messages gets no more turns than one with a single message while the global limit is reached.
    private void LaunchReady(long now)
    {
        while (_deliveriesInFlight < _options.MaxDeliveriesInFlight
            && TryTakeReady(now, out DestinationQueue? destination, out DeliveryWork? work, out Admission admission))
        {
            destination.Active++;
            _deliveriesInFlight++;
            Interlocked.Increment(ref _workersRunning);
            _ = RunWorkerAsync(destination, work, admission);
            MakeRunnableIfReady(destination);
        }
    }

    /// <summary>
    /// The next transaction to start, round-robin over destinations with ready work: suspended destinations are
    /// skipped, those traffic shaping refuses are parked. Under the gate; allocation-free unless a shaping rule splits
    /// the transaction.
    /// </summary>
    private bool TryTakeReady(long now, [NotNullWhen(true)] out DestinationQueue? destination, [NotNullWhen(true)] out DeliveryWork? work,
        out Admission admission)
    {
        while (_runnable.TryDequeue(out destination))
        {
            destination.Runnable = false;
            if (destination.ReadyCount == 0 || destination.Active >= _options.MaxConcurrencyPerDestination)
            {
                continue; // re-enters the line when one of its attempts ends
            }

            if (IsSuspended(destination.Domain, now))
            {
                continue; // its ready work waits; Resume (or the suspension's end) puts it back in line
            }

            admission = default;
            if (_shaper is not null)
            {
                admission = _shaper.TryAdmit(destination.Pool, destination.Domain, destination.Site!);
                if (!admission.Granted)
                {
                    Park(destination, admission.RetryAt);
                    continue;
                }
            }

            if (!destination.TryDequeue(out work))
            {
                throw new InvalidOperationException("A ready destination had no work."); // ReadyCount > 0 was checked above
            }
            if (admission.Rule?.MaxRecipientsPerTransaction is int limit && limit > 0 && work.RecipientIndexes.Count > limit)
            {
                // The rule allows fewer recipients per transaction than the plan put together: the rest waits its turn.
                destination.Enqueue(RentWork(work.Message, work.Domain, work.RecipientIndexes[limit..]));
                work.Set(work.Message, work.Domain, work.RecipientIndexes[..limit]);
            }

            return true;
        }

        work = null;
        admission = default;
        return false;
    }

    /// <summary>Plans every message due at <paramref name="now"/>. Under the gate.</summary>
    private void PlanDue(long now)
    {
        while (_due.TryPeek(out QueuedMessage? message, out long dueMs) && dueMs <= now)
        {
            _due.Dequeue();
            if (message.ScheduledDueMs == dueMs)
            {
                message.ScheduledDueMs = long.MaxValue;
                Plan(message, now);
            }
        }
    }

    /// <summary>
    /// One scheduling decision without the delivery (allocation tests and benchmarks; run with the queue paused so
    /// the scheduler task stays out): plans what is due at <paramref name="now"/> and takes the next transaction in
    /// round-robin order, or null when nothing is ready. Hand the result back with <see cref="ReturnUnstarted"/>.
    /// </summary>
    internal DeliveryWork? DecideNext(long now, out AttemptSlot slot)
    {
        lock (_gate)
        {
            PlanDue(now);
            if (!TryTakeReady(now, out DestinationQueue? destination, out DeliveryWork? work, out Admission admission))
            {
                slot = default;
                return null;
            }

            slot = admission.Slot;
            MakeRunnableIfReady(destination); // back in line, as LaunchReady does
            return work;
        }
    }

    /// <summary>Puts a transaction from <see cref="DecideNext"/> back as if it had never been taken: its recipients are
    /// due again, its shaping slot is released and the object goes back to the pool.</summary>
    internal void ReturnUnstarted(DeliveryWork work, AttemptSlot slot)
    {
        lock (_gate)
        {
            if (slot.IsValid)
            {
                _shaper!.Release(slot);
            }

            ReturnToQueue(work);
            ReturnWork(work);
        }
    }

    private void ReleaseSlot(DestinationQueue destination, AttemptSlot slot)
    {
        lock (_gate)
        {
            destination.Active--;
            _deliveriesInFlight--;
            if (slot.IsValid)
            {
                _shaper!.Release(slot);
                UnparkWaitingForRelease();
            }

            if (destination.Active == 0 && destination.ReadyCount == 0 && !destination.Runnable && !destination.Parked)
            {
                RemoveIfCurrent(destination);
            }
            else
            {
                MakeRunnableIfReady(destination);
            }
        }

        Signal();
    }

    /// <summary>The part after the last '@', lower-cased; an address literal keeps its brackets. Shared strings
    /// (<see cref="DomainNames"/>): a sender domain is looked up on every indexed message.</summary>
    internal static string DomainOf(string address) => DomainNames.Of(address);
}
