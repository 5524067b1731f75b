using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>
/// Runs one background loop of the delivery path (the queue's scheduler, space reclamation, the delivery log writer,
/// each webhook's sender) and restarts it when it throws: the failure is logged at Critical with the exception,
/// counted (fastmta_queue_loop_failures_total{loop}), and reported as a health problem until the restarted loop says
/// it made progress. Restarts back off exponentially (0.5 s doubling to 30 s) while the loop keeps failing without progress
/// in between, so a loop that fails on every pass costs a few log lines a minute, not a core.
/// </summary>
/// <remarks>The body returns when its work is over (asked to stop, or its input completed): that ends the loop.
/// <see cref="Progress"/> is one volatile read in the steady state: the scheduler calls it once per pass.</remarks>
public sealed class SupervisedLoop
{
    internal static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    internal static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly Func<SupervisedLoop, CancellationToken, Task> _body;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly LoopMetrics _metrics;
    private Fault? _fault; // non-null from a failure until the restarted loop makes progress
    private int _progressed = 1;
    private int _consecutive;

    /// <param name="name">The metric label and log name (scheduler, maintenance, delivery_log).</param>
    /// <param name="description">What the loop does, for the health reason ("queue scheduler").</param>
    /// <param name="metrics">Counts the loop's failures (fastmta_queue_loop_failures_total).</param>
    public SupervisedLoop(string name, string description, Func<SupervisedLoop, CancellationToken, Task> body, ILogger logger,
        LoopMetrics metrics, TimeProvider? time = null)
    {
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        Name = name;
        Description = description;
        _body = body;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The metric label and log name (scheduler, maintenance, delivery_log, webhook).</summary>
    public string Name { get; }

    /// <summary>What the loop does, as /health names it ("queue scheduler").</summary>
    public string Description { get; }

    /// <summary>How many times the body has been restarted after a failure (0 on the first run).</summary>
    public int Restarts { get; private set; }

    /// <summary>Called by the body after each unit of work that completed: the loop is healthy again.</summary>
    public void Progress()
    {
        if (Volatile.Read(ref _progressed) != 0)
        {
            return;
        }

        Volatile.Write(ref _progressed, 1);
        if (Interlocked.Exchange(ref _fault, null) is { } recovered)
        {
            Log.LoopRecovered(_logger, Description, recovered.Consecutive);
        }
    }

    /// <summary>Adds a reason while the loop is failed or waiting to restart.</summary>
    public void AddProblems(List<string> problems)
    {
        if (Volatile.Read(ref _fault) is { } f)
        {
            problems.Add($"{Description} loop failed ({f.Consecutive} time(s) in a row, last at {f.At:yyyy-MM-dd HH:mm:ss}Z: "
                + $"{f.Exception.GetType().Name}: {f.Exception.Message}); restarting after a {f.Backoff.TotalSeconds:0.#} s backoff");
        }
    }

    /// <summary>Runs the body until it returns or <paramref name="stop"/> is cancelled, restarting it after each failure
    /// (<paramref name="stop"/> also cuts a backoff short). Never throws.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (true) // the first run even when already stopped: a body that drains its input on stop must get to run
        {
            Exception failure;
            try
            {
                await _body(this, stop).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failure = e;
            }

            if (stop.IsCancellationRequested)
            {
                Log.LoopFailedWhileStopping(_logger, Description, failure);
                _metrics.Failed(Name);
                return; // no restart while stopping
            }

            // Progress since the previous failure starts the backoff over: only failures in a row make it grow.
            _consecutive = Volatile.Read(ref _progressed) != 0 ? 1 : _consecutive + 1;
            Volatile.Write(ref _progressed, 0);
            TimeSpan backoff = Backoff(_consecutive);
            Volatile.Write(ref _fault, new Fault(failure, _time.GetUtcNow(), _consecutive, backoff));
            _metrics.Failed(Name);
            Log.LoopFailed(_logger, Description, _consecutive, backoff.TotalSeconds, failure);
            try
            {
                await TimerSpan.DelayAsync(backoff, _time, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Restarts++;
        }
    }

    internal static TimeSpan Backoff(int consecutive) =>
        TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, FirstBackoff.Ticks << Math.Min(consecutive - 1, 16)));

    private sealed record Fault(Exception Exception, DateTimeOffset At, int Consecutive, TimeSpan Backoff);
}
