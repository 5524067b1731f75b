namespace FastMta.Queue;

/// <summary>
/// The longest wait that System.Threading.Timer, ITimer.Change, Task.Delay, PeriodicTimer and
/// CancellationTokenSource.CancelAfter accept is 2^32 - 2 ms (about 49.7 days); a longer one throws
/// ArgumentOutOfRangeException. Every timer and delay in FastMta is armed through this class: a wait longer than
/// <see cref="Max"/> fires early, and its owner finds nothing due yet and arms again (the queue's scheduler computes
/// its next due time on every wake-up; <see cref="DelayAsync"/> loops), so a due time 50 days or 50 years out costs
/// one extra wake-up per 49.7 days instead of an exception in the loop that armed it.
/// </summary>
public static class TimerSpan
{
    /// <summary>4294967294 ms: the most any timer takes (49 days, 17 h, 2 min, 47.294 s).</summary>
    public static readonly TimeSpan Max = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private const long MaxMs = uint.MaxValue - 1;

    /// <summary>The wait to arm a timer with: <paramref name="wait"/> cut to [0, <see cref="Max"/>];
    /// <see cref="Timeout.InfiniteTimeSpan"/> stays infinite.</summary>
    public static TimeSpan Clamp(TimeSpan wait) =>
        wait == Timeout.InfiniteTimeSpan ? wait
        : wait < TimeSpan.Zero ? TimeSpan.Zero
        : wait > Max ? Max
        : wait;

    /// <summary>A wait of <paramref name="milliseconds"/> (any long: due times far in the future, or past), cut to
    /// [0, <see cref="Max"/>] before it becomes a TimeSpan (TimeSpan.FromMilliseconds would overflow first).</summary>
    public static TimeSpan FromMilliseconds(long milliseconds) => TimeSpan.FromMilliseconds(Math.Clamp(milliseconds, 0, MaxMs));

    /// <summary>Waits the whole of <paramref name="delay"/>, however long, in timer-sized steps.</summary>
    public static async Task DelayAsync(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(time);
        long started = time.GetTimestamp();
        TimeSpan left = delay;
        while (left > TimeSpan.Zero)
        {
            await Task.Delay(Clamp(left), time, cancellationToken).ConfigureAwait(false);
            left = delay - time.GetElapsedTime(started);
        }
    }
}
