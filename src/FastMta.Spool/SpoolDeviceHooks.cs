using FASTER.core;

namespace FastMta.Spool;

/// <summary>Tests: how the spool's log device is assembled (a faulting device below or above the guard) and how often held writes are retried.</summary>
internal sealed class SpoolDeviceHooks
{
    /// <summary>Wraps the file device; the guard sees its failures (as it would a real disk's).</summary>
    public Func<IDevice, IDevice>? BelowGuard { get; init; }

    /// <summary>Wraps the guard; FasterLog itself sees its failures (what the guard exists to prevent).</summary>
    public Func<IDevice, IDevice>? AboveGuard { get; init; }

    public TimeSpan? RetryInterval { get; init; }
}
