using System.Diagnostics;
using System.Threading.Channels;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>
/// Keeps every live recipient's state, decides what is due, groups it into transactions per destination domain and
/// runs them through the <see cref="IDeliveryAgent"/>, recording each outcome durably in the spool.
/// <para>
/// State lives in memory and is rebuilt at start-up by scanning the spool: envelopes say who must get what, recipient
/// state records say what already happened. All mutations happen under one lock that is never held across I/O.
/// Deferred work sits in a due-time heap, ready work in one FIFO per destination, and destinations with ready work in
/// a round-robin list: a scheduling pass only touches what is due, never the whole queue, and a slow destination only
/// ever occupies its own concurrency slots.
/// </para>
/// </summary>
public sealed partial class QueueManager : IAsyncDisposable, ISpoolCommitListener
{
    private readonly MessageSpool _spool;
    private readonly IDeliveryAgent _agent;
    private readonly IDeliveryEventSink _events;
    private readonly QueueOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly QueueMetrics _metrics;
    private readonly ITrafficShaper? _shaper;
    private readonly ISiteResolver? _sites;
    private readonly Lock _gate = new();

    // The live index: every message with a recipient not yet final, by the address of its first log entry, so the
    // oldest one (which bounds truncation) is the set's minimum.
    private readonly Dictionary<long, QueuedMessage> _byFirstAddress = [];
    private readonly SortedSet<long> _firstAddresses = [];

    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abortDeliveries = new();
    private readonly TaskCompletionSource _workersDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _workersRunning;
    private bool _stopRequested;
    private Task _schedulerTask = Task.CompletedTask;
    private Task _maintenanceTask = Task.CompletedTask;
    private readonly SupervisedLoop _schedulerLoop;
    private readonly SupervisedLoop _maintenanceLoop;

    /// <param name="shaper">Traffic shaping: which egress source may send to which destination, and when. Null: no
    /// shaping (each destination gets MaxConcurrencyPerDestination and the agent's default source).</param>
    /// <param name="sites">Resolves a domain's site (MX set) for shaping rules; required with a shaper.</param>
    public QueueManager(MessageSpool spool, IDeliveryAgent agent, IDeliveryEventSink events, QueueOptions options, ILogger<QueueManager> logger,
        TimeProvider? timeProvider = null, ITrafficShaper? shaper = null, ISiteResolver? sites = null)
    {
        if (shaper is not null && sites is null)
        {
            throw new ArgumentException("Traffic shaping needs a site resolver.", nameof(sites));
        }

        this._shaper = shaper;
        this._sites = sites;
        _metrics = new QueueMetrics(ObserveWaiting);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this._spool = spool ?? throw new ArgumentNullException(nameof(spool));
        this._agent = agent ?? throw new ArgumentNullException(nameof(agent));
        this._events = events ?? throw new ArgumentNullException(nameof(events));
        this._options = options;
        this._logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = timeProvider ?? TimeProvider.System;
        _schedulerLoop = new SupervisedLoop("scheduler", "queue scheduler", RunSchedulerAsync, logger, _time);
        _maintenanceLoop = new SupervisedLoop("maintenance", "queue maintenance (space reclamation)", RunMaintenanceAsync, logger, _time);
    }

    /// <summary>Adds a reason for /health per background loop that has failed and not yet recovered.</summary>
    public void AddProblems(List<string> problems)
    {
        _schedulerLoop.AddProblems(problems);
        _maintenanceLoop.AddProblems(problems);
    }

    /// <summary>Live messages (at least one recipient not yet delivered or failed).</summary>
    public int MessageCount
    {
        get
        {
            lock (_gate)
            {
                return _byFirstAddress.Count;
            }
        }
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
        lock (_gate)
        {
            // Sized once: growing by doubling to a million entries rehashes and copies the index many times over.
            _byFirstAddress.EnsureCapacity(visitor.Messages.Count);
            _due.EnsureCapacity(visitor.Messages.Count);
            foreach (QueuedMessage message in visitor.Messages.Values)
            {
                Index(message);
                recipients += message.Remaining;
            }

            live = _byFirstAddress.Count;
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
        lock (_gate)
        {
            if (_stopRequested)
            {
                return;
            }

            _stopRequested = true;
        }

        _spool.RemoveCommitListener(this);
        _stopping.Cancel();
        await Task.WhenAll(_schedulerTask, _maintenanceTask).ConfigureAwait(false);
        int running = Volatile.Read(ref _workersRunning);
        if (running == 0)
        {
            _workersDone.TrySetResult();
        }

        Log.Stopping(_logger, grace.TotalSeconds, running);
        if (await Task.WhenAny(_workersDone.Task, TimerSpan.DelayAsync(grace, _time, CancellationToken.None)).ConfigureAwait(false) != _workersDone.Task)
        {
            _abortDeliveries.Cancel();
            await _workersDone.Task.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _dueTimer?.Dispose(); // the scheduler task has ended
        _stopping.Dispose();
        _abortDeliveries.Dispose();
        _metrics.Dispose();
    }

    // The spool's commit hook: runs on the accepting session's thread before the client hears 250, so it only
    // indexes and signals.
    void ISpoolCommitListener.OnMessageCommitted(SpooledEnvelope envelope)
    {
        var message = new QueuedMessage(envelope);
        lock (_gate)
        {
            Index(message);
        }

        PublishReception(envelope);
        Signal();
    }

    private void Index(QueuedMessage message)
    {
        if (_shaper is not null)
        {
            // The pool the message asked for at reception (X-FastMta-Pool or the API's pool field, checked then), else the
            // sender domain's mapping, else the default. A named pool that a reload has removed since is not a reason to
            // hold mail forever: it goes out of the pool it would have had without the name, loudly.
            string senderDomain = DomainOf(message.Envelope.Sender);
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

        long first = message.Envelope.FirstAddress;
        _byFirstAddress.Add(first, message);
        _firstAddresses.Add(first);
        int deferred = 0;
        foreach (RecipientState state in message.States)
        {
            deferred += state.Status == RecipientStatus.Deferred ? 1 : 0;
        }

        _metrics.MessageIndexed(message.Remaining - deferred, deferred);
        Schedule(message, message.NextDueMs());
    }

    private void Unindex(QueuedMessage message)
    {
        long first = message.Envelope.FirstAddress;
        _byFirstAddress.Remove(first);
        _firstAddresses.Remove(first);
        message.ScheduledDueMs = long.MaxValue;
        _metrics.MessageRemoved();
    }

    /// <summary>Where the oldest live message starts in the log; long.MaxValue when the queue is empty.</summary>
    private long OldestLiveAddress()
    {
        lock (_gate)
        {
            return _firstAddresses.Count == 0 ? long.MaxValue : _firstAddresses.Min;
        }
    }

    private long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private void Signal() => _wake.Writer.TryWrite(true);
}
