using System.Diagnostics.Metrics;

namespace FastMta.Queue;

/// <summary>
/// Failures of the supervised background loops (<see cref="SupervisedLoop"/>), on their own Meter because the loops
/// belong to different owners (the queue manager, the delivery log, each webhook) with different lifetimes. One label,
/// loop, from a fixed set of names. Exported as fastmta_queue_loop_failures_total.
/// </summary>
public sealed class LoopMetrics
{
    public const string MeterName = "FastMta.Loops";

    private readonly Counter<long> _failures;

    /// <summary>Each owner of loops creates one from its factory: the factory hands every owner the same meter, and
    /// the exporter adds up identical counters created on it.</summary>
    public LoopMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter meter = meters.Create(MeterName);
        _failures = meter.CreateCounter<long>("fastmta.queue.loop.failures", "{failure}",
            "Background loops of the delivery path that threw and were restarted after a backoff, by loop: scheduler (plans and starts deliveries), maintenance (space reclamation), delivery_log (the delivery log writer), webhook (a webhook's sender). /health answers 503 until the restarted loop makes progress.");
    }

    public void Failed(string loop) => _failures.Add(1, new KeyValuePair<string, object?>("loop", loop));
}
