using System.Threading.Channels;

namespace FastMta.Queue;

/// <summary>
/// The queue's one lock and the scheduler's doorbell, handed to every queue component.
/// <para>
/// Lock contract: all in-memory queue state (the message index, the due heap, every recipient's state and in-flight
/// bit, the destination queues, parking, suspensions, the transaction pool) is read and written only while
/// <see cref="Lock"/> is held. Each component method says either "Under the gate" (the caller holds the lock) or
/// "Without the gate" (the method takes the lock itself, and never across I/O or an await). The lock is re-entrant,
/// which site resolution relies on when a cached answer completes synchronously. Nothing that blocks, does I/O or
/// calls out of the queue (event sinks, observers, the agent) runs while it is held, except the traffic shaper,
/// whose contract (<see cref="FastMta.Shaping.ITrafficShaper"/>) is written for that.
/// </para>
/// </summary>
internal sealed class QueueGate
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private bool _stopRequested;

    public Lock Lock { get; } = new();

    /// <summary>Set once when the queue stops (under the gate); read by workers with or without it.</summary>
    public bool StopRequested
    {
        get => Volatile.Read(ref _stopRequested);
        set => Volatile.Write(ref _stopRequested, value);
    }

    /// <summary>Wakes the scheduler (new message, finished attempt, a changed suspension ...). Without the gate or
    /// under it: it never blocks. Coalesces: one pending signal is enough.</summary>
    public void Signal() => _wake.Writer.TryWrite(true);

    /// <summary>Consumes a pending signal, if any. Scheduler task only.</summary>
    public bool TryTakeSignal() => _wake.Reader.TryRead(out _);

    /// <summary>Waits for the next signal and consumes it. Scheduler task only, without the gate.</summary>
    public async Task WaitForSignalAsync(CancellationToken cancellationToken)
    {
        await _wake.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        _wake.Reader.TryRead(out _);
    }
}
