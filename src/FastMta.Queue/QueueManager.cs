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
public sealed partial class QueueManager : IAsyncDisposable
{
    private readonly MessageSpool spool;
    private readonly IDeliveryAgent agent;
    private readonly IDeliveryEventSink events;
    private readonly QueueOptions options;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly QueueMetrics metrics;
    private readonly TrafficShaper? shaper;
    private readonly ISiteResolver? sites;
    private readonly Lock gate = new();

    // The live index: every message with a recipient not yet final, by the address of its first log entry, so the
    // oldest one (which bounds truncation) is the set's minimum.
    private readonly Dictionary<long, QueuedMessage> byFirstAddress = [];
    private readonly SortedSet<long> firstAddresses = [];

    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource stopping = new();
    private readonly CancellationTokenSource abortDeliveries = new();
    private readonly TaskCompletionSource workersDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int workersRunning;
    private bool stopRequested;
    private Task schedulerTask = Task.CompletedTask;
    private Task maintenanceTask = Task.CompletedTask;
    private readonly SupervisedLoop schedulerLoop;
    private readonly SupervisedLoop maintenanceLoop;

    /// <param name="shaper">Traffic shaping: which egress source may send to which destination, and when. Null: no
    /// shaping (each destination gets MaxConcurrencyPerDestination and the agent's default source).</param>
    /// <param name="sites">Resolves a domain's site (MX set) for shaping rules; required with a shaper.</param>
    public QueueManager(MessageSpool spool, IDeliveryAgent agent, IDeliveryEventSink events, QueueOptions options, ILogger<QueueManager> logger,
        TimeProvider? timeProvider = null, TrafficShaper? shaper = null, ISiteResolver? sites = null)
    {
        if (shaper is not null && sites is null)
        {
            throw new ArgumentException("Traffic shaping needs a site resolver.", nameof(sites));
        }

        this.shaper = shaper;
        this.sites = sites;
        metrics = new QueueMetrics(ObserveWaiting);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.spool = spool ?? throw new ArgumentNullException(nameof(spool));
        this.agent = agent ?? throw new ArgumentNullException(nameof(agent));
        this.events = events ?? throw new ArgumentNullException(nameof(events));
        this.options = options;
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
        time = timeProvider ?? TimeProvider.System;
        schedulerLoop = new SupervisedLoop("scheduler", "queue scheduler", RunSchedulerAsync, logger, time);
        maintenanceLoop = new SupervisedLoop("maintenance", "queue maintenance (space reclamation)", RunMaintenanceAsync, logger, time);
    }

    /// <summary>Adds a reason for /health per background loop that has failed and not yet recovered.</summary>
    public void AddProblems(List<string> problems)
    {
        schedulerLoop.AddProblems(problems);
        maintenanceLoop.AddProblems(problems);
    }

    /// <summary>Live messages (at least one recipient not yet delivered or failed).</summary>
    public int MessageCount
    {
        get
        {
            lock (gate)
            {
                return byFirstAddress.Count;
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
        spool.Scan(visitor, cancellationToken);
        int recipients = 0;
        int live;
        lock (gate)
        {
            // Sized once: growing by doubling to a million entries rehashes and copies the index many times over.
            byFirstAddress.EnsureCapacity(visitor.Messages.Count);
            due.EnsureCapacity(visitor.Messages.Count);
            foreach (QueuedMessage message in visitor.Messages.Values)
            {
                Index(message);
                recipients += message.Remaining;
            }

            live = byFirstAddress.Count;
        }

        spool.MessageCommitted = OnMessageCommitted;
        Log.Rebuilt(logger, Stopwatch.GetElapsedTime(started).TotalMilliseconds, live, recipients, visitor.Finished);
        schedulerTask = Task.Run(() => schedulerLoop.RunAsync(stopping.Token), CancellationToken.None);
        maintenanceTask = Task.Run(() => maintenanceLoop.RunAsync(stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops planning new attempts, lets the ones in flight finish for up to <paramref name="grace"/>, then cancels
    /// them (their recipients stay queued in the spool and are retried after restart).
    /// </summary>
    public async Task StopAsync(TimeSpan grace)
    {
        lock (gate)
        {
            if (stopRequested)
            {
                return;
            }

            stopRequested = true;
        }

        spool.MessageCommitted = null;
        stopping.Cancel();
        await Task.WhenAll(schedulerTask, maintenanceTask).ConfigureAwait(false);
        int running = Volatile.Read(ref workersRunning);
        if (running == 0)
        {
            workersDone.TrySetResult();
        }

        Log.Stopping(logger, grace.TotalSeconds, running);
        if (await Task.WhenAny(workersDone.Task, TimerSpan.DelayAsync(grace, time, CancellationToken.None)).ConfigureAwait(false) != workersDone.Task)
        {
            abortDeliveries.Cancel();
            await workersDone.Task.ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        dueTimer?.Dispose(); // the scheduler task has ended
        stopping.Dispose();
        abortDeliveries.Dispose();
        metrics.Dispose();
    }

    // The spool's commit hook: runs on the accepting session's thread before the client hears 250, so it only
    // indexes and signals.
    private void OnMessageCommitted(SpooledEnvelope envelope)
    {
        var message = new QueuedMessage(envelope);
        lock (gate)
        {
            Index(message);
        }

        PublishReception(envelope);
        Signal();
    }

    private void Index(QueuedMessage message)
    {
        if (shaper is not null)
        {
            // The pool the message asked for at reception (X-FastMta-Pool or the API's pool field, checked then), else the
            // sender domain's mapping, else the default. A named pool that a reload has removed since is not a reason to
            // hold mail forever: it goes out of the pool it would have had without the name, loudly.
            string senderDomain = DomainOf(message.Envelope.Sender);
            string pool = shaper.ChoosePool(message.Envelope.Pool, null, senderDomain);
            if (message.Envelope.Pool is not null && !shaper.HasPool(pool))
            {
                string fallback = shaper.ChoosePool(null, null, senderDomain);
                Log.UnknownPool(logger, message.Envelope.Id.ToString(), pool, fallback);
                metrics.Error("unknown_pool");
                pool = fallback;
            }

            message.Pool = pool;
        }

        long first = message.Envelope.FirstAddress;
        byFirstAddress.Add(first, message);
        firstAddresses.Add(first);
        int deferred = 0;
        foreach (RecipientState state in message.States)
        {
            deferred += state.Status == RecipientStatus.Deferred ? 1 : 0;
        }

        metrics.MessageIndexed(message.Remaining - deferred, deferred);
        Schedule(message, message.NextDueMs());
    }

    private void Unindex(QueuedMessage message)
    {
        long first = message.Envelope.FirstAddress;
        byFirstAddress.Remove(first);
        firstAddresses.Remove(first);
        message.ScheduledDueMs = long.MaxValue;
        metrics.MessageRemoved();
    }

    /// <summary>Where the oldest live message starts in the log; long.MaxValue when the queue is empty.</summary>
    private long OldestLiveAddress()
    {
        lock (gate)
        {
            return firstAddresses.Count == 0 ? long.MaxValue : firstAddresses.Min;
        }
    }

    private long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    private void Signal() => wake.Writer.TryWrite(true);
}
