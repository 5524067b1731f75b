using System.Threading.Tasks.Sources;

namespace FastMta.Spool;

/// <summary>
/// A reusable wait for "my envelope is committed", one per pooled writer, so that waiting allocates nothing.
/// Whoever wins the state transition (committer, timeout sweep, cancellation, shutdown) completes it, exactly once.
/// </summary>
internal sealed class CommitAwaiter : IValueTaskSource
{
    private const int Idle = 0;
    private const int Pending = 1;
    private const int Done = 2;

    private ManualResetValueTaskSourceCore<bool> core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration registration;
    private int state;

    public long Address { get; private set; }

    public long DeadlineTimestamp { get; private set; }

    public bool IsDone => Volatile.Read(ref state) == Done;

    public void Arm(long address, long deadlineTimestamp)
    {
        Address = address;
        DeadlineTimestamp = deadlineTimestamp;
        Volatile.Write(ref state, Pending);
    }

    public ValueTask AsValueTask(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled && !IsDone)
        {
            registration = cancellationToken.UnsafeRegister(static (s, token) => ((CommitAwaiter)s!).TryComplete(new OperationCanceledException(token)), this);
        }

        return new ValueTask(this, core.Version);
    }

    /// <summary>Completes the wait; false when someone else already did.</summary>
    public bool TryComplete(Exception? error)
    {
        if (Interlocked.CompareExchange(ref state, Done, Pending) != Pending)
        {
            return false;
        }

        if (error is null)
        {
            core.SetResult(true);
        }
        else
        {
            core.SetException(error);
        }

        return true;
    }

    /// <summary>After the wait was observed: make the awaiter reusable.</summary>
    public void Reset()
    {
        registration.Dispose();
        registration = default;
        core.Reset();
        Volatile.Write(ref state, Idle);
    }

    void IValueTaskSource.GetResult(short token) => core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        core.OnCompleted(continuation, state, token, flags);
}
