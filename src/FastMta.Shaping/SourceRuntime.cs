namespace FastMta.Shaping;

/// <summary>A source's run-time state kept across reloads: its suspension.</summary>
internal sealed class SourceRuntime(string name)
{
    private const long NotSuspended = 0;
    private const long Indefinitely = long.MaxValue;

    private long _suspendedUntilUtcTicks;

    public string Name { get; } = name;

    public void Suspend(DateTimeOffset? until) => Volatile.Write(ref _suspendedUntilUtcTicks, until?.UtcTicks ?? Indefinitely);

    public void Resume() => Volatile.Write(ref _suspendedUntilUtcTicks, NotSuspended);

    /// <summary>True while suspended; <paramref name="until"/> is the end, or null for "until resumed".</summary>
    public bool IsSuspended(DateTimeOffset utcNow, out DateTimeOffset? until)
    {
        long ticks = Volatile.Read(ref _suspendedUntilUtcTicks);
        if (ticks == NotSuspended || (ticks != Indefinitely && ticks <= utcNow.UtcTicks))
        {
            until = null;
            return false;
        }

        until = ticks == Indefinitely ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        return true;
    }
}
