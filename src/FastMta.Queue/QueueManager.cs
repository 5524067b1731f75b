using System.Diagnostics;
using System.Diagnostics.Metrics;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>
/// Keeps every live recipient's state, decides what is due, groups it into transactions per destination and runs them
/// through the <see cref="IDeliveryAgent"/>, recording each outcome durably in the spool.
/// <para>
/// State lives in memory and is rebuilt at start-up by scanning the spool: envelopes say who must get what, recipient
/// state records say what already happened. This class is the façade: it owns the lifecycle (start, the scheduler
/// and maintenance loops, stop) and hands the public API to the components, which share one lock
/// (<see cref="QueueGate"/>, never held across I/O): <see cref="MessageIndex"/> (live messages, due heap),
/// <see cref="DestinationScheduler"/> (ready queues, round-robin, shaping, parking, suspensions),
/// <see cref="AttemptRunner"/> (the workers), <see cref="OutcomeRecorder"/> (durable outcomes, events, metrics),
/// <see cref="DsnGenerator"/>, <see cref="SpaceReclaimer"/>, <see cref="QueueQueries"/> and
/// <see cref="QueueAdministration"/>.
/// </para>
/// </summary>
public sealed class QueueManager : IAsyncDisposable, ISpoolCommitListener
{
    private readonly MessageSpool _spool;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly QueueMetrics _metrics;
    private readonly QueueGate _gate = new();
    private readonly MessageIndex _index;
    private readonly DestinationScheduler _scheduler;
    private readonly OutcomeRecorder _recorder;
    private readonly AttemptRunner _runner;
    private readonly SpaceReclaimer _reclaimer;
    private readonly QueueQueries _queries;
    private readonly QueueAdministration _administration;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SupervisedLoop _schedulerLoop;
    private readonly SupervisedLoop _maintenanceLoop;
    private Task _schedulerTask = Task.CompletedTask;
    private Task _maintenanceTask = Task.CompletedTask;
    private ITimer? _dueTimer; // only the scheduler task touches it

    public QueueManager(QueueOptions options, QueueDependencies dependencies)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(dependencies);
        options.Validate();
        _spool = dependencies.Spool ?? throw new ArgumentException("The spool is required.", nameof(dependencies));
        _logger = dependencies.Logger ?? throw new ArgumentException("The logger is required.", nameof(dependencies));
        _time = dependencies.Time ?? throw new ArgumentException("The time provider is required.", nameof(dependencies));
        IDeliveryAgent agent = dependencies.Agent ?? throw new ArgumentException("The delivery agent is required.", nameof(dependencies));
        IDeliveryEventSink events = dependencies.Events ?? throw new ArgumentException("The event sink is required.", nameof(dependencies));
        ITrafficShaper shaper = dependencies.Shaper ?? throw new ArgumentException("The traffic shaper is required.", nameof(dependencies));
        ISiteResolver sites = dependencies.Sites ?? throw new ArgumentException("The site resolver is required.", nameof(dependencies));
        IAttemptObserver[] observers = [.. dependencies.Observers ?? []];
        IMeterFactory meters = dependencies.Meters ?? throw new ArgumentException("The meter factory is required.", nameof(dependencies));
        var loops = new LoopMetrics(meters);

        DestinationScheduler? scheduler = null;
        _metrics = new QueueMetrics(meters, () => scheduler!.ObserveWaiting());
        _index = new MessageIndex(_metrics);
        _scheduler = scheduler = new DestinationScheduler(_gate, _index, options, shaper, sites, _metrics, _logger, _stopping.Token);
        var dsn = new DsnGenerator(_spool, options, _metrics, _logger);
        _recorder = new OutcomeRecorder(_gate, _index, _spool, dsn, events, options, _metrics, _logger, _time);
        _runner = new AttemptRunner(_gate, _scheduler, _recorder, _spool, agent, observers, _metrics, _logger);
        _reclaimer = new SpaceReclaimer(_gate, _index, _spool, options, _metrics, _logger, _time);
        _queries = new QueueQueries(_gate, _index, _scheduler, _time);
        _administration = new QueueAdministration(_gate, _index, _scheduler, _recorder, _spool, _metrics, _time);
        Shaper = shaper;
        _schedulerLoop = new SupervisedLoop("scheduler", "queue scheduler", RunSchedulerAsync, _logger, loops, _time);
        _maintenanceLoop = new SupervisedLoop("maintenance", "queue maintenance (space reclamation)", _reclaimer.RunAsync, _logger, loops, _time);
    }

    /// <summary>The longest timed suspension (365 days; longer ones are meant as "until resumed": no duration).</summary>
    public static readonly TimeSpan MaxSuspension = QueueAdministration.MaxSuspension;

    /// <summary>The live shaper (admin API: snapshot, source suspension).</summary>
    public ITrafficShaper Shaper { get; }

    /// <summary>Live messages (at least one recipient not yet delivered or failed).</summary>
    public int MessageCount => _queries.MessageCount;

    /// <summary>
    /// While true nothing new is planned or launched (attempts already running finish); messages are still indexed.
    /// Starts as <see cref="QueueOptions.Paused"/>.
    /// </summary>
    public bool Paused
    {
        get
        {
            lock (_gate.Lock)
            {
                return _scheduler.Paused;
            }
        }

        set
        {
            lock (_gate.Lock)
            {
                _scheduler.Paused = value;
            }

            _gate.Signal(); // a resumed scheduler plans what became due meanwhile
        }
    }

    /// <summary>Adds a reason for /health per background loop that has failed and not yet recovered.</summary>
    public void AddProblems(List<string> problems)
    {
        _schedulerLoop.AddProblems(problems);
        _maintenanceLoop.AddProblems(problems);
    }

    /// <summary>
    /// Rebuilds the queue from the spool and starts delivering. Call after the spool is open and before any mail is
    /// accepted: from here on every committed message is indexed as it commits.
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        var visitor = new RebuildVisitor();
        _spool.Scan(visitor, cancellationToken);
        int recipients = 0;
        int live;
        lock (_gate.Lock)
        {
            _index.EnsureCapacity(visitor.Messages.Count);
            foreach (QueuedMessage message in visitor.Messages.Values)
            {
                _scheduler.AssignPool(message);
                _index.Add(message);
                recipients += message.Remaining;
            }

            live = _index.Count;
        }

        _spool.SetCommitListener(this);
        Log.Rebuilt(_logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds, live, recipients, visitor.Finished);
        _schedulerTask = Task.Run(() => _schedulerLoop.RunAsync(_stopping.Token), CancellationToken.None);
        _maintenanceTask = Task.Run(() => _maintenanceLoop.RunAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops planning new attempts, lets the ones in flight finish for up to <paramref name="grace"/>, then cancels
    /// them (their recipients stay queued in the spool and are retried after restart).
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        lock (_gate.Lock)
        {
            if (_gate.StopRequested)
            {
                return;
            }

            _gate.StopRequested = true;
        }

        _spool.RemoveCommitListener(this);
        _stopping.Cancel();
        await Task.WhenAll(_schedulerTask, _maintenanceTask).ConfigureAwait(false);
        await _runner.DrainAsync(grace, _time).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _dueTimer?.Dispose(); // the scheduler task has ended
        _stopping.Dispose();
        _runner.Dispose(); // the metrics' Meter belongs to the factory
    }

    public QueueSummary GetSummary(int maxDestinations = 1000) => _queries.GetSummary(maxDestinations);

    /// <summary>Live messages, oldest first, optionally only those with a queued recipient in <paramref name="domain"/>.</summary>
    public IReadOnlyList<QueuedMessageInfo> ListMessages(string? domain, int limit) => _queries.ListMessages(domain, limit);

    public QueuedMessageInfo? FindMessage(string id) => _queries.FindMessage(id);

    /// <summary>
    /// Every active destination queue (ready work or attempts running), busiest first: its pool and site, the
    /// transactions and recipients waiting, attempts running, and why it waits. O(active destinations).
    /// </summary>
    public IReadOnlyList<DestinationQueueInfo> GetDestinationQueues(int limit) => _queries.GetDestinationQueues(limit);

    public IReadOnlyDictionary<string, DateTimeOffset?> Suspensions() => _queries.Suspensions();

    /// <summary>Stops starting attempts to <paramref name="domain"/> (running ones finish) until resumed or for <paramref name="duration"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="duration"/> is not in (0, <see cref="MaxSuspension"/>];
    /// nothing is stored.</exception>
    public DateTimeOffset? Suspend(string domain, TimeSpan? duration) => _administration.Suspend(domain, duration);

    public bool Resume(string domain) => _administration.Resume(domain);

    /// <summary>Makes every deferred recipient (of <paramref name="domain"/>, or all) due now. Returns how many.</summary>
    public int RetryNow(string? domain) => _administration.RetryNow(domain);

    /// <summary>
    /// Fails every queued recipient of <paramref name="domain"/> now: with a DSN to the sender (bounce) or silently
    /// (delete). Recipients in an attempt right now are left to it and counted as skipped.
    /// </summary>
    public Task<AdminOutcome> FailAllAsync(string domain, bool sendDsn, string reason, CancellationToken cancellationToken) =>
        _administration.FailAllAsync(domain, sendDsn, reason, cancellationToken);

    /// <summary>
    /// Traffic shaping changed under the queue (a source resumed, a configuration reload): every destination parked by
    /// shaping asks again now instead of at the time its refusal named, which may be a long suspension's end.
    /// </summary>
    public void RecheckShaping()
    {
        lock (_gate.Lock)
        {
            _scheduler.UnparkAll();
        }

        _gate.Signal();
    }

    /// <summary>One reclamation pass: copy forward what is too old, then truncate before the oldest live message.</summary>
    internal Task ReclaimAsync(CancellationToken cancellationToken) => _reclaimer.ReclaimAsync(cancellationToken);

    /// <summary>
    /// One scheduling decision without the delivery (allocation tests and benchmarks; run with the queue paused so
    /// the scheduler task stays out): plans what is due at <paramref name="now"/> and takes the next transaction in
    /// round-robin order, or null when nothing is ready. Hand the result back with <see cref="ReturnUnstarted"/>.
    /// </summary>
    internal DeliveryWork? DecideNext(long now, out AttemptSlot slot)
    {
        lock (_gate.Lock)
        {
            _scheduler.PlanDue(now);
            if (!_scheduler.TryTakeReady(now, out DestinationQueue? destination, out DeliveryWork? work, out Admission admission))
            {
                slot = default;
                return null;
            }

            slot = admission.Slot;
            _scheduler.MakeRunnableIfReady(destination); // back in line, as a pass does after starting an attempt
            return work;
        }
    }

    /// <summary>Puts a transaction from <see cref="DecideNext"/> back as if it had never been taken: its recipients are
    /// due again, its shaping slot is released and the object goes back to the pool.</summary>
    internal void ReturnUnstarted(DeliveryWork work, AttemptSlot slot)
    {
        lock (_gate.Lock)
        {
            _scheduler.ReleaseUnstarted(slot);
            _scheduler.ReturnToQueue(work);
            _scheduler.ReturnWork(work);
        }
    }

    // The spool's commit hook: runs on the accepting session's thread before the client hears 250, so it only
    // indexes and signals.
    void ISpoolCommitListener.OnMessageCommitted(SpooledEnvelope envelope)
    {
        var message = new QueuedMessage(envelope);
        lock (_gate.Lock)
        {
            _scheduler.AssignPool(message);
            _index.Add(message);
        }

        _recorder.PublishReception(envelope);
        _gate.Signal();
    }

    // The scheduler's body, run (and restarted after a failure) by _schedulerLoop. A pass that threw may have left
    // the heap and the round-robin line out of step with the messages: both are rebuilt before planning again.
    private async Task RunSchedulerAsync(SupervisedLoop loop, CancellationToken stop)
    {
        if (loop.Restarts > 0)
        {
            lock (_gate.Lock)
            {
                _index.RebuildDueHeap();
                _scheduler.RebuildLine();
            }
        }

        while (!stop.IsCancellationRequested)
        {
            long nextDueMs;
            lock (_gate.Lock)
            {
                nextDueMs = _scheduler.RunPass(NowMs, _runner);
            }

            loop.Progress();
            await WaitForWorkAsync(nextDueMs, stop).ConfigureAwait(false);
        }
    }

    // Sleeps until the next due time or a signal (new message, finished attempt, finished move): never polls. One
    // timer, re-armed per wait, signals the same channel as everything else, so a wait allocates nothing. A due time
    // beyond the longest wait a timer takes (49.7 days) wakes the scheduler early; it finds nothing due and re-arms.
    private async Task WaitForWorkAsync(long nextDueMs, CancellationToken stop)
    {
        if (_gate.TryTakeSignal())
        {
            return;
        }

        _dueTimer ??= _time.CreateTimer(static state => ((QueueGate)state!).Signal(), _gate, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _dueTimer.Change(nextDueMs == long.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimerSpan.FromMilliseconds(Math.Max(1, nextDueMs - NowMs)), Timeout.InfiniteTimeSpan);
        await _gate.WaitForSignalAsync(stop).ConfigureAwait(false);
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();
}
