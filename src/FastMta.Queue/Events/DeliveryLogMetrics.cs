using System.Diagnostics.Metrics;

namespace FastMta.Queue;

/// <summary>The delivery log's instruments, on their own Meter so the queue manager's "FastMta.Queue" meter stays
/// about queueing. No tags: one delivery log per process. Exported as fastmta_deliverylog_*_total. The Meter comes
/// from the host's <see cref="IMeterFactory"/>, which owns it.</summary>
public sealed class DeliveryLogMetrics
{
    public const string MeterName = "FastMta.DeliveryLog";

    private readonly Counter<long> _written;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _writeErrors;

    public DeliveryLogMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter meter = meters.Create(MeterName);
        Meter = meter;
        Loops = new LoopMetrics(meters);
        _written = meter.CreateCounter<long>("fastmta.deliverylog.events.written", "{event}",
            "Delivery events written to the delivery log file.");
        _dropped = meter.CreateCounter<long>("fastmta.deliverylog.events.dropped", "{event}",
            "Delivery events dropped because the log's queue was full (the disk is slower than the event rate) or the log was closed. Mail is unaffected; the log has gaps.");
        _writeErrors = meter.CreateCounter<long>("fastmta.deliverylog.write.errors", "{error}",
            "Failed writes to the delivery log file (disk full, permissions); the events of a failed write are lost.");
    }

    internal Meter Meter { get; }

    /// <summary>Failures of the delivery log's writer loop.</summary>
    internal LoopMetrics Loops { get; }

    internal void Written(long events) => _written.Add(events);
    internal void Dropped() => _dropped.Add(1);
    internal void WriteFailed() => _writeErrors.Add(1);
}
