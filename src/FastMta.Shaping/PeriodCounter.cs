namespace FastMta.Shaping;

/// <summary>
/// A lock-free count of messages in one period (a UTC day or hour, by number), for warmup caps. High 32 bits: the
/// period the count belongs to; low 32 bits: the count. A new period starts from 0 with one compare-and-swap, so
/// nothing has to run at midnight or on the hour. A mutable struct: keep it in a field and call it in place.
/// </summary>
internal struct PeriodCounter
{
    private long _value;

    public readonly long CountIn(int period)
    {
        long value = Volatile.Read(in _value);
        return (int)(value >> 32) == period ? (uint)value : 0;
    }

    /// <summary>Counts one more message in <paramref name="period"/> unless that would pass <paramref name="cap"/>.</summary>
    public bool TryTake(int period, int cap)
    {
        while (true)
        {
            long current = Volatile.Read(ref _value);
            long count = (int)(current >> 32) == period ? (uint)current : 0;
            if (count >= cap)
            {
                return false;
            }

            long next = ((long)period << 32) | (count + 1);
            if (Interlocked.CompareExchange(ref _value, next, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Gives back one message taken in <paramref name="period"/> (a later check refused the admission).</summary>
    public void Refund(int period)
    {
        while (true)
        {
            long current = Volatile.Read(ref _value);
            if ((int)(current >> 32) != period || (uint)current == 0)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _value, current - 1, current) == current)
            {
                return;
            }
        }
    }
}
