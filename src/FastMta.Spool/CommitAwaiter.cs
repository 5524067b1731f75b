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

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private int _state;

    public long Address { get; private set; }

    public long DeadlineTimestamp { get; private set; }

    public bool IsDone => Volatile.Read(ref _state) == Done;

    public void Arm(long address, long deadlineTimestamp)
    {
        Address = address;
        DeadlineTimestamp = deadlineTimestamp;
        Volatile.Write(ref _state, Pending);
    }

    public ValueTask AsValueTask(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled && !IsDone)
        {
            _registration = cancellationToken.UnsafeRegister(static (s, token) => ((CommitAwaiter)s!).TryComplete(new OperationCanceledException(token)), this);
        }

        return new ValueTask(this, _core.Version);
    }

    /// <summary>Completes the wait; false when someone else already did.</summary>
    public bool TryComplete(Exception? error)
    {
        if (Interlocked.CompareExchange(ref _state, Done, Pending) != Pending)
        {
            return false;
        }

        if (error is null)
        {
            _core.SetResult(true);
        }
        else
        {
            _core.SetException(error);
        }

        return true;
    }

    /// <summary>After the wait was observed: make the awaiter reusable.</summary>
    public void Reset()
    {
        _registration.Dispose();
        _registration = default;
        _core.Reset();
        Volatile.Write(ref _state, Idle);
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
