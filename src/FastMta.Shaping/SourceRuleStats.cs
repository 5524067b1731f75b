namespace FastMta.Shaping;

/// <summary>
/// Per (source, rule) counters that outlive idle destination state: the warmup counts of today and of this hour, and
/// attempt slots held (connections in use). Bounded by configured names, so they are never evicted.
/// </summary>
internal sealed class SourceRuleStats(string source, string rule)
{
    private PeriodCounter _today;
    private PeriodCounter _thisHour;
    private int _slotsHeld;

    public string Source { get; } = source;

    public string Rule { get; } = rule;

    public int SlotsHeld => Volatile.Read(ref _slotsHeld);

    public void SlotTaken() => Interlocked.Increment(ref _slotsHeld);

    public void SlotReleased() => Interlocked.Decrement(ref _slotsHeld);

    public long SentOn(int day) => _today.CountIn(day);

    public long SentInHour(int hour) => _thisHour.CountIn(hour);

    /// <summary>One message against today's cap and this hour's cap (either may be null: no cap), both or neither.</summary>
    public bool TryTakeWarmup(WarmupPeriod now, int? dailyCap, int? hourlyCap)
    {
        if (dailyCap is int daily && !_today.TryTake(now.Day, daily))
        {
            return false;
        }

        if (hourlyCap is int hourly && !_thisHour.TryTake(now.Hour, hourly))
        {
            RefundDaily(now, dailyCap);
            return false;
        }

        return true;
    }

    public void RefundWarmup(WarmupPeriod now, int? dailyCap, int? hourlyCap)
    {
        RefundDaily(now, dailyCap);
        if (hourlyCap is not null)
        {
            _thisHour.Refund(now.Hour);
        }
    }

    private void RefundDaily(WarmupPeriod now, int? dailyCap)
    {
        if (dailyCap is not null)
        {
            _today.Refund(now.Day);
        }
    }
}

/// <summary>The UTC day and hour numbers warmup counts belong to.</summary>
internal readonly record struct WarmupPeriod(int Day, int Hour)
{
    public static WarmupPeriod At(DateTimeOffset utcNow) =>
        new(DateOnly.FromDateTime(utcNow.UtcDateTime).DayNumber, (int)(utcNow.ToUnixTimeSeconds() / 3600));
}
