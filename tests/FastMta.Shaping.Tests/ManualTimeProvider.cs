namespace FastMta.Shaping.Tests;

/// <summary>A clock that moves only when told: UTC time and the timestamp advance together, in 100 ns ticks.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _utcTicks = start.UtcTicks;

    public static DateTimeOffset Monday { get; } = new(2025, 3, 10, 0, 0, 0, TimeSpan.Zero);

    public ManualTimeProvider()
        : this(Monday)
    {
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _utcTicks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);

    public void SetUtcNow(DateTimeOffset now)
    {
        Assert.True(now.UtcTicks >= Interlocked.Read(ref _utcTicks), "time only moves forward");
        Interlocked.Exchange(ref _utcTicks, now.UtcTicks);
    }
}
