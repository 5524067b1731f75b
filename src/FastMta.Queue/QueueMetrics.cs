using System.Diagnostics.Metrics;

namespace FastMta.Queue;

/// <summary>
/// The queue's instruments on the Meter "FastMta.Queue". Labels come from small fixed sets (state, outcome, kind),
/// never domains or recipients. The depth gauges read counters the queue keeps as it goes: a scrape costs nothing
/// however large the queue is. Names and units are chosen for their Prometheus names (fastmta_queue_messages,
/// fastmta_delivery_recipients_total, fastmta_delivery_latency_seconds). The Meter comes from the host's
/// <see cref="IMeterFactory"/>, which owns it; one queue manager per factory (the gauges read this instance's counts).
/// </summary>
internal sealed class QueueMetrics
{
    public const string MeterName = "FastMta.Queue";

    // An attempt takes milliseconds to a few SMTP timeouts (minutes); end-to-end latency runs up to Mta:Queue:MaxAge (days).
    private static readonly double[] AttemptSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
    private static readonly double[] LatencySeconds =
        [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 432000];

    private readonly Meter _meter;
    private readonly Counter<long> _recipients;
    private readonly Histogram<double> _attemptDuration;
    private readonly Histogram<double> _deliveryLatency;
    private readonly Counter<long> _bounces;
    private readonly Counter<long> _errors;
    private long _messages;
    private long _pending;
    private long _inFlight;
    private long _deferred;

    /// <param name="waiting">Recipients waiting in destination queues, by pool and shaping rule (read at scrape time).</param>
    public QueueMetrics(IMeterFactory meters, Func<IEnumerable<Measurement<long>>>? waiting = null)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _meter = meters.Create(MeterName);
        if (waiting is not null)
        {
            _meter.CreateObservableGauge("fastmta.queue.waiting", waiting, "{recipient}",
                "Recipients planned into a transaction and waiting for their destination's turn, by egress pool and shaping rule (held by a rate, connection limit, warmup cap or suspension, or just queued behind other work).");
        }

        _meter.CreateObservableGauge("fastmta.queue.messages", () => Volatile.Read(ref _messages), "{message}",
            "Messages in the queue with at least one recipient not yet delivered or failed.");
        _meter.CreateObservableGauge("fastmta.queue.recipients", () => new Measurement<long>[]
        {
            new(Volatile.Read(ref _pending), new KeyValuePair<string, object?>("state", "pending")),
            new(Volatile.Read(ref _inFlight), new KeyValuePair<string, object?>("state", "in_flight")),
            new(Volatile.Read(ref _deferred), new KeyValuePair<string, object?>("state", "deferred")),
        }, "{recipient}", "Queued recipients by state: pending (never attempted), in_flight (in a delivery attempt now), deferred (waiting for a retry).");
        _recipients = _meter.CreateCounter<long>("fastmta.delivery.recipients", "{recipient}",
            "Recipient delivery outcomes: delivered, deferred (will retry), failed (permanent reply or DNS failure, bounced), expired (past Mta:Queue:MaxAge, bounced).");
        _attemptDuration = _meter.CreateHistogram("fastmta.delivery.attempt.duration", "s",
            "Time of one delivery attempt (DNS, connection, SMTP transaction) as the queue saw it.",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = AttemptSeconds });
        _deliveryLatency = _meter.CreateHistogram("fastmta.delivery.latency", "s",
            "Time from reception to successful delivery, per recipient: the end-to-end queue delay.",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencySeconds });
        _bounces = _meter.CreateCounter<long>("fastmta.queue.bounces", "{message}",
            "Delivery status notifications: queued (spooled for the sender), suppressed (null sender: never bounce a bounce), error (could not be spooled).");
        _errors = _meter.CreateCounter<long>("fastmta.queue.errors", "{error}",
            "Queue failures by kind: body_read, state_write, agent (delivery agent bug), copy_forward, truncate, site (a site resolver threw; shaped by the domain), unknown_pool (a message names a pool no longer configured; sent from its fallback pool), observer (an attempt observer threw).");
    }

    public void MessageIndexed(int pendingRecipients, int deferredRecipients)
    {
        Interlocked.Increment(ref _messages);
        Interlocked.Add(ref _pending, pendingRecipients);
        Interlocked.Add(ref _deferred, deferredRecipients);
    }

    public void MessageRemoved() => Interlocked.Decrement(ref _messages);

    /// <summary>Recipients taken into an attempt: from pending or deferred to in flight.</summary>
    public void AttemptStarted(int fromPending, int fromDeferred)
    {
        Interlocked.Add(ref _pending, -fromPending);
        Interlocked.Add(ref _deferred, -fromDeferred);
        Interlocked.Add(ref _inFlight, fromPending + fromDeferred);
    }

    /// <summary>Recipients back from an attempt: <paramref name="stillQueued"/> of them deferred, the rest final.</summary>
    public void AttemptEnded(int recipientCount, int stillQueued, int backToPending)
    {
        Interlocked.Add(ref _inFlight, -recipientCount);
        Interlocked.Add(ref _deferred, stillQueued);
        Interlocked.Add(ref _pending, backToPending);
    }

    public void Outcome(string outcome, int count = 1) => _recipients.Add(count, new KeyValuePair<string, object?>("outcome", outcome));

    public void AttemptDuration(double seconds) => _attemptDuration.Record(seconds);

    public void Delivered(double latencySeconds) => _deliveryLatency.Record(latencySeconds);

    public void Bounce(string result) => _bounces.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Error(string kind) => _errors.Add(1, new KeyValuePair<string, object?>("kind", kind));
}
