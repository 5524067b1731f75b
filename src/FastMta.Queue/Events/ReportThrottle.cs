namespace FastMta.Queue;

/// <summary>Lets a warning through at most once per interval across threads, counting what it held back, so a full
/// disk or a flood of drops makes one log line per interval rather than one per event. Lock-free.</summary>
public sealed class ReportThrottle(TimeSpan interval)
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private long _nextReportMs = long.MinValue;
    private long _pending;

    /// <summary>Counts one occurrence; true (with the count since the last report) when this caller should log.</summary>
    public bool TryReport(out long count)
    {
        Interlocked.Increment(ref _pending);
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextReportMs);
        if (now >= next && Interlocked.CompareExchange(ref _nextReportMs, now + _intervalMs, next) == next)
        {
            count = Interlocked.Exchange(ref _pending, 0);
            return true;
        }

        count = 0;
        return false;
    }
}
