using FastMta.Shaping;
using FastMta.Spool;

namespace FastMta.Queue;

// Scheduling: the due-time heap, planning due recipients into per-destination transactions, and handing ready
// transactions to workers round-robin across destinations within the global and per-destination limits.
public sealed partial class QueueManager
{
    private readonly PriorityQueue<QueuedMessage, long> due = new();
    private readonly Dictionary<DestinationKey, DestinationQueue> destinations = [];
    private readonly Queue<DestinationQueue> runnable = new();
    private int deliveriesInFlight;
    private ITimer? dueTimer; // only the scheduler task touches it

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
        due.Enqueue(message, dueMs);
    }

    private async Task RunSchedulerAsync()
    {
        CancellationToken stop = stopping.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                long nextDueMs;
                lock (gate)
                {
                    long now = NowMs;
                    while (due.TryPeek(out QueuedMessage? message, out long dueMs) && dueMs <= now)
                    {
                        due.Dequeue();
                        if (message.ScheduledDueMs == dueMs)
                        {
                            message.ScheduledDueMs = long.MaxValue;
                            Plan(message, now);
                        }
                    }

                    long nextResumeMs = ExpireSuspensions(now);
                    UnparkDue(now);
                    LaunchReady(now); // may park destinations: the next unpark time is read after it
                    nextDueMs = Math.Min(Math.Min(nextResumeMs, NextUnparkMs()), due.TryPeek(out _, out long next) ? next : long.MaxValue);
                }

                await WaitForWorkAsync(nextDueMs, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            metrics.Error("scheduler");
            Log.SchedulerFailed(logger, e);
            throw;
        }
    }

    // Sleeps until the next due time or a signal (new message, finished attempt, finished move): never polls. One
    // timer, re-armed per wait, signals the same channel as everything else, so a wait allocates nothing.
    private async Task WaitForWorkAsync(long nextDueMs, CancellationToken stop)
    {
        if (wake.Reader.TryRead(out _))
        {
            return;
        }

        dueTimer ??= time.CreateTimer(static state => ((QueueManager)state!).Signal(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        dueTimer.Change(nextDueMs == long.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromMilliseconds(Math.Max(1, nextDueMs - NowMs)), Timeout.InfiniteTimeSpan);
        await wake.Reader.WaitToReadAsync(stop).ConfigureAwait(false);
        wake.Reader.TryRead(out _);
    }

    /// <summary>Turns the message's due recipients into transactions, one per domain (split at the recipient limit).</summary>
    private void Plan(QueuedMessage message, long now)
    {
        if (message.Moving || message.Remaining == 0)
        {
            return; // a move reschedules the message when it is done; a finished message is about to be unindexed
        }

        IReadOnlyList<SpooledRecipient> recipients = message.Envelope.Recipients;
        Dictionary<string, List<int>>? byDomain = null;
        int fromPending = 0;
        int fromDeferred = 0;
        for (int i = 0; i < message.States.Length; i++)
        {
            RecipientState state = message.States[i];
            if (state.IsFinal || message.IsInFlight(i) || state.NextAttemptUnixMs > now)
            {
                continue;
            }

            byDomain ??= new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
            string domain = DomainOf(recipients[i].Address);
            if (!byDomain.TryGetValue(domain, out List<int>? indexes))
            {
                byDomain[domain] = indexes = [];
            }

            indexes.Add(i);
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

        if (byDomain is not null)
        {
            metrics.AttemptStarted(fromPending, fromDeferred);
            foreach ((string domain, List<int> indexes) in byDomain)
            {
                for (int start = 0; start < indexes.Count; start += options.MaxRecipientsPerTransaction)
                {
                    int count = Math.Min(options.MaxRecipientsPerTransaction, indexes.Count - start);
                    Enqueue(new DeliveryWork(message, domain, indexes.GetRange(start, count).ToArray()));
                }
            }
        }

        Schedule(message, message.NextDueMs());
    }

    private void Enqueue(DeliveryWork work)
    {
        var key = new DestinationKey(work.Message.Pool, work.Domain);
        bool created = false;
        if (!destinations.TryGetValue(key, out DestinationQueue? destination))
        {
            destinations[key] = destination = new DestinationQueue(key.Pool, key.Domain);
            created = true;
        }

        destination.Ready.Enqueue(work);
        if (created && shaper is not null)
        {
            // Runnable once its site is known. A cached answer completes right here (the lock is re-entrant), so the
            // work must be in the queue first, or the empty queue would be dropped as idle.
            _ = ResolveSiteAsync(destination);
        }

        MakeRunnableIfReady(destination);
    }

    private void MakeRunnableIfReady(DestinationQueue destination)
    {
        if (!destination.Runnable && !destination.Parked && destination.Ready.Count > 0
            && destination.Active < options.MaxConcurrencyPerDestination && (shaper is null || destination.Site is not null))
        {
            destination.Runnable = true;
            runnable.Enqueue(destination);
        }
    }

    // One transaction per destination per turn, then the destination goes to the back of the line: a domain with a
    // million queued messages gets no more turns than one with a single message while the global limit is reached.
    private void LaunchReady(long now)
    {
        while (deliveriesInFlight < options.MaxDeliveriesInFlight && runnable.TryDequeue(out DestinationQueue? destination))
        {
            destination.Runnable = false;
            if (destination.Ready.Count == 0 || destination.Active >= options.MaxConcurrencyPerDestination)
            {
                continue; // re-enters the line when one of its attempts ends
            }

            if (IsSuspended(destination.Domain, now))
            {
                continue; // its ready work waits; Resume (or the suspension's end) puts it back in line
            }

            Admission admission = default;
            if (shaper is not null)
            {
                admission = shaper.TryAdmit(destination.Pool, destination.Domain, destination.Site!);
                if (!admission.Granted)
                {
                    Park(destination, admission.RetryAt);
                    continue;
                }
            }

            DeliveryWork work = destination.Ready.Dequeue();
            if (admission.Rule?.MaxRecipientsPerTransaction is int limit && limit > 0 && work.RecipientIndexes.Length > limit)
            {
                // The rule allows fewer recipients per transaction than the plan put together: the rest waits its turn.
                destination.Ready.Enqueue(new DeliveryWork(work.Message, work.Domain, work.RecipientIndexes[limit..]));
                work = new DeliveryWork(work.Message, work.Domain, work.RecipientIndexes[..limit]);
            }

            destination.Active++;
            deliveriesInFlight++;
            Interlocked.Increment(ref workersRunning);
            _ = RunWorkerAsync(destination, work, admission);
            MakeRunnableIfReady(destination);
        }
    }

    private void ReleaseSlot(DestinationQueue destination, Lease lease)
    {
        lock (gate)
        {
            destination.Active--;
            deliveriesInFlight--;
            if (lease.IsValid)
            {
                shaper!.Release(lease);
                UnparkWaitingForRelease();
            }

            if (destination.Active == 0 && destination.Ready.Count == 0 && !destination.Runnable && !destination.Parked)
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

    /// <summary>The part after the last '@', lower-cased; an address literal keeps its brackets.</summary>
    internal static string DomainOf(string address)
    {
        int at = address.LastIndexOf('@');
        string domain = at < 0 ? address : address[(at + 1)..];
        return domain.ToLowerInvariant();
    }
}
