namespace FastMta.Shaping;

/// <summary>
/// GCRA (the virtual-scheduling form of a token bucket) over one <c>long</c> theoretical arrival time (TAT) in
/// TimeProvider timestamp ticks. The parameters live here, the TAT in the caller's state, so a reload changes the
/// rate of existing state from the next decision on. Lock-free: one CompareExchange per take.
/// </summary>
internal readonly struct RateCell
{
    public RateCell(int count, long periodTicks, int burst, double periodSeconds)
    {
        PerSecond = count / periodSeconds;
        Interval = Math.Max(1, (periodTicks + (count / 2)) / count);
        Tolerance = (long)(burst - 1) * Interval;
        Burst = burst;
    }

    /// <summary>Ticks per token; 0 for a disabled cell.</summary>
    public long Interval { get; }

    /// <summary>How far ahead of now the TAT may run: (burst - 1) intervals.</summary>
    public long Tolerance { get; }

    public int Burst { get; }

    /// <summary>The configured rate, for display (the interval is rounded to whole ticks).</summary>
    public double PerSecond { get; }

    public bool Enabled => Interval > 0;

    /// <summary>Takes a token, or says at what timestamp one will be there. Never waits.</summary>
    public bool TryTake(ref long tat, long now, out long readyAt)
    {
        while (true)
        {
            long current = Volatile.Read(ref tat);
            long start = Math.Max(current, now);
            if (start - now > Tolerance)
            {
                readyAt = start - Tolerance;
                return false;
            }

            if (Interlocked.CompareExchange(ref tat, start + Interval, current) == current)
            {
                readyAt = now;
                return true;
            }
        }
    }

    /// <summary>Gives back a token taken by <see cref="TryTake"/> when a later check of the same admission failed.</summary>
    public void Refund(ref long tat) => Interlocked.Add(ref tat, -Interval);

    /// <summary>Takes <paramref name="count"/> tokens whether or not they are there (for something already done):
    /// the bucket goes into debt and later takers wait for it to be paid.</summary>
    public void Charge(ref long tat, long now, int count)
    {
        while (true)
        {
            long current = Volatile.Read(ref tat);
            if (Interlocked.CompareExchange(ref tat, Math.Max(current, now) + (Interval * count), current) == current)
            {
                return;
            }
        }
    }

    /// <summary>Whole tokens available now.</summary>
    public long Available(long tat, long now) => (Tolerance + Interval - Math.Max(tat - now, 0)) / Interval;

    /// <summary>When the next token (after the available ones) arrives: now when one is available.</summary>
    public long NextTokenAt(long tat, long now) => Math.Max(Math.Max(tat, now) - Tolerance, now);
}
