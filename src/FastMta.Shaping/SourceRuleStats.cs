namespace FastMta.Shaping;

/// <summary>
/// Per (source, rule) counters that outlive idle destination state: today's warmup count and connections in use.
/// Bounded by configured names, so they are never evicted.
/// </summary>
internal sealed class SourceRuleStats(string source, string rule)
{
    // High 32 bits: the UTC day number the count belongs to; low 32 bits: messages that day. One CAS resets at midnight.
    private long _warmup;
    private int _connections;

    public string Source { get; } = source;

    public string Rule { get; } = rule;

    public int Connections => Volatile.Read(ref _connections);

    public void ConnectionOpened() => Interlocked.Increment(ref _connections);

    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);

    public long SentOn(int day)
    {
        long value = Volatile.Read(ref _warmup);
        return (int)(value >> 32) == day ? (uint)value : 0;
    }

    public bool TryTakeWarmup(int day, int cap)
    {
        while (true)
        {
            long current = Volatile.Read(ref _warmup);
            long count = (int)(current >> 32) == day ? (uint)current : 0;
            if (count >= cap)
            {
                return false;
            }

            long next = ((long)day << 32) | (count + 1);
            if (Interlocked.CompareExchange(ref _warmup, next, current) == current)
            {
                return true;
            }
        }
    }

    public void RefundWarmup(int day)
    {
        while (true)
        {
            long current = Volatile.Read(ref _warmup);
            if ((int)(current >> 32) != day || (uint)current == 0)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _warmup, current - 1, current) == current)
            {
                return;
            }
        }
    }
}
