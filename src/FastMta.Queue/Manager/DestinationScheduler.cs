using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>
/// What to attempt next: plans due recipients into per-destination transactions, keeps one ready queue per
/// destination (pool + domain) and a round-robin line of destinations with ready work, asks traffic shaping for an
/// admission before each attempt and parks the destinations it refuses, skips suspended domains, and holds the global
/// and per-destination concurrency limits.
/// <para>
/// A scheduling pass only touches what is due, never the whole queue, and a slow destination only ever occupies its
/// own concurrency slots. A parked destination costs nothing while it waits (out of the line until the time the
/// shaper names or, when only a connection slot was missing, until some attempt slot is released), and nothing polls.
/// Members are called under the gate unless their summary says "Without the gate".
/// </para>
/// </summary>
internal sealed class DestinationScheduler
{
    // Planning state reused across passes: due recipient indexes of the message being planned, and finished
    // transactions. The pool is bounded (at most about 1 MiB of idle objects): when more transactions than that come
    // back at once, the rest is left to the GC. In a steady flow returns and rents alternate, so the pool stays far
    // below its bound.
    private const int MaxPooledWork = 16_384;

    private readonly QueueGate _gate;
    private readonly MessageIndex _index;
    private readonly QueueOptions _options;
    private readonly ITrafficShaper _shaper;
    private readonly ISiteResolver _sites;
    private readonly QueueMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;
    private readonly Action<string> _makeDomainRunnable; // cached: a method group would allocate a delegate per pass

    private readonly Dictionary<DestinationKey, DestinationQueue> _destinations = [];
    private readonly Queue<DestinationQueue> _runnable = new();
    private readonly PriorityQueue<DestinationQueue, long> _parkedUntil = new();
    private readonly List<DestinationQueue> _parkedForRelease = [];
    private readonly Stack<DeliveryWork> _workPool = new();
    private int[] _planBuffer = new int[16];
    private int[] _planGroup = new int[16];
    private int _deliveriesInFlight;
    private bool? _pausedOverride; // null: QueueOptions.Paused

    /// <param name="stopping">Cancelled when the queue stops: site lookups in progress give up.</param>
    public DestinationScheduler(QueueGate gate, MessageIndex index, QueueOptions options, ITrafficShaper shaper, ISiteResolver sites,
        QueueMetrics metrics, ILogger logger, CancellationToken stopping)
    {
        _gate = gate;
        _index = index;
        _options = options;
        _shaper = shaper;
        _sites = sites;
        _metrics = metrics;
        _logger = logger;
        _stopping = stopping;
        _makeDomainRunnable = MakeDomainRunnable;
    }

    /// <summary>Domains an administrator suspended. Under the gate.</summary>
    public DomainSuspensions Suspensions { get; } = new();

    /// <summary>Active destination queues (ready work or attempts running). Under the gate.</summary>
    public IEnumerable<DestinationQueue> Destinations => _destinations.Values;

    /// <summary>While true no pass plans or launches anything. Starts as <see cref="QueueOptions.Paused"/>. Under the gate.</summary>
    public bool Paused
    {
        get => _pausedOverride ?? _options.Paused;
        set => _pausedOverride = value;
    }

    /// <summary>
    /// Chooses the message's egress pool: the one it asked for at reception (X-FastMta-Pool or the API's pool field,
    /// checked then), else the sender domain's mapping, else the default. A named pool that a reload has removed
    /// since is not a reason to hold mail forever: it goes out of the pool it would have had without the name, loudly.
    /// Under the gate (or before the queue starts).
    /// </summary>
    public void AssignPool(QueuedMessage message)
    {
        string senderDomain = DomainNames.Of(message.Envelope.Sender);
        string pool = _shaper.ChoosePool(message.Envelope.Pool, null, senderDomain);
        if (message.Envelope.Pool is not null && !_shaper.HasPool(pool))
        {
            string fallback = _shaper.ChoosePool(null, null, senderDomain);
            Log.UnknownPool(_logger, message.Envelope.Id.ToString(), pool, fallback);
            _metrics.Error("unknown_pool");
            pool = fallback;
        }

        message.Pool = pool;
    }

    /// <summary>
    /// One scheduling pass at <paramref name="now"/>: plans what is due, ends suspensions and shaping waits whose time
    /// has come, and starts ready transactions through <paramref name="runner"/>. Returns when the next pass is due
    /// (long.MaxValue: only a signal can make work). Under the gate.
    /// </summary>
    public long RunPass(long now, AttemptRunner runner)
    {
        if (Paused)
        {
            return long.MaxValue; // sleeps until resumed: the Paused setter's caller signals
        }

        PlanDue(now);
        long nextResumeMs = Suspensions.Expire(now, _makeDomainRunnable);
        UnparkDue(now);
        LaunchReady(now, runner); // may park destinations: the next unpark time is read after it
        long nextUnparkMs = _parkedUntil.TryPeek(out _, out long unpark) ? unpark : long.MaxValue;
        return Math.Min(Math.Min(nextResumeMs, nextUnparkMs), _index.NextDueMs);
    }

    /// <summary>
    /// A pass that threw may have left the round-robin line out of step with the destinations (one marked runnable but
    /// not in line): the line is rebuilt. O(destinations), only after a failure. Under the gate.
    /// </summary>
    public void RebuildLine()
    {
        _runnable.Clear();
        foreach (DestinationQueue destination in _destinations.Values)
        {
            destination.Runnable = false;
            MakeRunnableIfReady(destination);
        }
    }

    /// <summary>Plans every message due at <paramref name="now"/>. Under the gate.</summary>
    public void PlanDue(long now)
    {
        while (_index.TryTakeDue(now, out QueuedMessage? message))
        {
            Plan(message, now);
        }
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

        _index.Schedule(message, message.NextDueMs());
    }

    /// <summary>A transaction object from the pool (or a new one while the pool is empty). Under the gate.</summary>
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
    public void ReturnWork(DeliveryWork work)
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
        if (created)
        {
            // Runnable once its site is known. A cached answer completes right here (the lock is re-entrant), so the
            // work must be in the queue first, or the empty queue would be dropped as idle.
            _ = ResolveSiteAsync(destination);
        }

        MakeRunnableIfReady(destination);
    }

    /// <summary>Puts the destination in the round-robin line if it has ready work it may start now. Under the gate.</summary>
    public void MakeRunnableIfReady(DestinationQueue destination)
    {
        if (!destination.Runnable && !destination.Parked && destination.ReadyCount > 0
            && destination.Active < _options.MaxConcurrencyPerDestination && destination.Site is not null)
        {
            destination.Runnable = true;
            _runnable.Enqueue(destination);
        }
    }

    // One transaction per destination per turn, then the destination goes to the back of the line: a domain with a
    // million queued messages gets no more turns than one with a single message while the global limit is reached.
    private void LaunchReady(long now, AttemptRunner runner)
    {
        while (_deliveriesInFlight < _options.MaxDeliveriesInFlight
            && TryTakeReady(now, out DestinationQueue? destination, out DeliveryWork? work, out Admission admission))
        {
            destination.Active++;
            _deliveriesInFlight++;
            runner.Start(destination, work, admission);
            MakeRunnableIfReady(destination);
        }
    }

    /// <summary>
    /// The next transaction to start, round-robin over destinations with ready work: suspended destinations are
    /// skipped, those traffic shaping refuses are parked. Under the gate; allocation-free unless a shaping rule splits
    /// the transaction.
    /// </summary>
    public bool TryTakeReady(long now, [NotNullWhen(true)] out DestinationQueue? destination, [NotNullWhen(true)] out DeliveryWork? work,
        out Admission admission)
    {
        while (_runnable.TryDequeue(out destination))
        {
            destination.Runnable = false;
            if (destination.ReadyCount == 0 || destination.Active >= _options.MaxConcurrencyPerDestination)
            {
                continue; // re-enters the line when one of its attempts ends
            }

            if (Suspensions.IsSuspended(destination.Domain, now))
            {
                continue; // its ready work waits; Resume (or the suspension's end) puts it back in line
            }

            admission = _shaper.TryAdmit(destination.Pool, destination.Domain, destination.Site!);
            if (!admission.Granted)
            {
                Park(destination, admission.RetryAt);
                continue;
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

    /// <summary>Releases an attempt's place in the queue's limits and its shaping slot once its SMTP work is done.
    /// Without the gate.</summary>
    public void ReleaseSlot(DestinationQueue destination, AttemptSlot slot)
    {
        lock (_gate.Lock)
        {
            destination.Active--;
            _deliveriesInFlight--;
            if (slot.IsValid)
            {
                _shaper.Release(slot);
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

        _gate.Signal();
    }

    /// <summary>Releases the shaping slot of a transaction that was taken but never started. Under the gate.</summary>
    public void ReleaseUnstarted(AttemptSlot slot)
    {
        if (slot.IsValid)
        {
            _shaper.Release(slot);
        }
    }

    /// <summary>A transaction taken back before it started: its recipients are queued again as they were. Under the gate.</summary>
    public void ReturnToQueue(DeliveryWork work)
    {
        int pending = 0, deferred = 0;
        foreach (int index in work.RecipientIndexes)
        {
            work.Message.SetInFlight(index, false);
            _ = work.Message.States[index].Status == RecipientStatus.Deferred ? deferred++ : pending++;
        }

        _metrics.AttemptEnded(work.RecipientIndexes.Count, stillQueued: deferred, backToPending: pending);
        _index.Schedule(work.Message, work.Message.NextDueMs());
    }

    /// <summary>Takes back every transaction waiting in the domain's ready queues (an administrator fails the domain's
    /// mail): their recipients are queued again as they were. Under the gate.</summary>
    public void TakeBackReady(string domain)
    {
        foreach (DestinationQueue queue in DestinationsOf(domain))
        {
            while (queue.TryDequeue(out DeliveryWork? waiting))
            {
                ReturnToQueue(waiting);
            }
        }
    }

    /// <summary>After a resume or a suspension's end: the domain's destinations go back in line. Under the gate.</summary>
    public void MakeDomainRunnable(string domain)
    {
        foreach (DestinationQueue queue in DestinationsOf(domain))
        {
            MakeRunnableIfReady(queue);
        }
    }

    /// <summary>The ready queues of a domain, one per pool sending to it (a short list; operator actions only). Under the gate.</summary>
    public List<DestinationQueue> DestinationsOf(string domain) =>
        _destinations.Values.Where(q => q.Domain.Equals(domain, StringComparison.OrdinalIgnoreCase)).ToList();

    /// <summary>The shaping rule in force for the destination; null until its site is known. Under the gate.</summary>
    public string? RuleOf(DestinationQueue destination) =>
        destination.Site is not null ? _shaper.Match(destination.Domain, destination.Site).Name : null;

    /// <summary>The waiting gauge, at scrape time: O(active destinations) (each keeps its own count), labels from
    /// configured names only (pools, rules). Without the gate.</summary>
    public IEnumerable<Measurement<long>> ObserveWaiting()
    {
        var totals = new Dictionary<(string Pool, string Rule), long>();
        lock (_gate.Lock)
        {
            foreach (DestinationQueue destination in _destinations.Values)
            {
                string rule = RuleOf(destination) ?? "none";
                totals[(destination.Pool, rule)] = totals.GetValueOrDefault((destination.Pool, rule)) + destination.WaitingRecipients;
            }
        }

        return totals.Select(t => new Measurement<long>(t.Value,
            new KeyValuePair<string, object?>("pool", t.Key.Pool), new KeyValuePair<string, object?>("rule", t.Key.Rule)));
    }

    /// <summary>
    /// Traffic shaping changed under the queue (a source resumed, a configuration reload): every destination parked by
    /// shaping asks again now instead of at the time its refusal named, which may be a long suspension's end. Under
    /// the gate.
    /// </summary>
    public void UnparkAll()
    {
        while (_parkedUntil.TryDequeue(out DestinationQueue? destination, out long until))
        {
            if (destination.Parked && destination.ParkedUntilMs == until)
            {
                Unpark(destination);
            }
        }

        UnparkWaitingForRelease();
    }

    private void Park(DestinationQueue destination, DateTimeOffset? retryAt)
    {
        destination.Parked = true;
        if (retryAt is { } at)
        {
            destination.ParkedUntilMs = at.ToUnixTimeMilliseconds();
            _parkedUntil.Enqueue(destination, destination.ParkedUntilMs);
        }
        else
        {
            destination.ParkedUntilMs = long.MaxValue;
            _parkedForRelease.Add(destination);
        }
    }

    /// <summary>Puts back in line the destinations whose shaping wait is over.</summary>
    private void UnparkDue(long now)
    {
        while (_parkedUntil.TryPeek(out DestinationQueue? destination, out long until) && until <= now)
        {
            _parkedUntil.Dequeue();
            if (destination.Parked && destination.ParkedUntilMs == until)
            {
                Unpark(destination);
            }
        }
    }

    // A released attempt slot may admit any destination that waited for a connection slot: they all try again (each try
    // is one cheap, allocation-free shaper decision).
    private void UnparkWaitingForRelease()
    {
        if (_parkedForRelease.Count == 0)
        {
            return;
        }

        foreach (DestinationQueue destination in _parkedForRelease)
        {
            if (destination.Parked && destination.ParkedUntilMs == long.MaxValue)
            {
                Unpark(destination);
            }
        }

        _parkedForRelease.Clear();
    }

    private void Unpark(DestinationQueue destination)
    {
        destination.Parked = false;
        MakeRunnableIfReady(destination);
        if (destination.Active == 0 && destination.ReadyCount == 0 && !destination.Runnable)
        {
            RemoveIfCurrent(destination);
        }
    }

    /// <summary>Drops an idle destination queue from the index, unless the index already holds a newer one.</summary>
    private void RemoveIfCurrent(DestinationQueue destination)
    {
        var key = new DestinationKey(destination.Pool, destination.Domain);
        if (_destinations.TryGetValue(key, out DestinationQueue? current) && ReferenceEquals(current, destination))
        {
            _destinations.Remove(key);
        }
    }

    private async Task ResolveSiteAsync(DestinationQueue destination)
    {
        string site;
        try
        {
            site = await _sites.GetSiteAsync(destination.Domain, _stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            // ISiteResolver promises not to throw; if it does, shape by the domain rather than never deliver.
            _metrics.Error("site");
            Log.SiteResolutionFailed(_logger, destination.Domain, e);
            site = destination.Domain;
        }

        lock (_gate.Lock)
        {
            destination.Site = site;
            MakeRunnableIfReady(destination);
            if (destination.Active == 0 && destination.ReadyCount == 0 && !destination.Runnable && !destination.Parked)
            {
                RemoveIfCurrent(destination); // emptied meanwhile (an administrator bounced its mail)
            }
        }

        _gate.Signal();
    }
}
