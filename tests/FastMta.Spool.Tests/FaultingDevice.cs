using System.Collections.Concurrent;
using FASTER.core;

namespace FastMta.Spool.Tests;

/// <summary>
/// A FASTER device around the spool's real one that the test can break: fail every write with an errno (ENOSPC 28,
/// EIO 5) without writing, or stall writes (held until <see cref="Heal"/>), as a full or hung disk would. Reads and
/// everything else pass through. Placed below the spool's StorageGuardDevice it plays the disk; above it, FasterLog
/// sees its failures directly.
/// </summary>
internal sealed class FaultingDevice(IDevice inner) : DelegatingDevice(inner)
{
    private readonly ConcurrentQueue<Action> _stalled = new();
    private volatile int _mode; // 0 pass, 1 fail, 2 stall
    private uint _errno;
    private int _failedWrites;
    private int _stalledWrites;
    private long _writtenUntil;

    public int FailedWrites => Volatile.Read(ref _failedWrites);

    public int StalledWrites => Volatile.Read(ref _stalledWrites);

    /// <summary>The end of the furthest write into segment 0 that reached the device beneath and completed without error.</summary>
    public long WrittenUntil => Volatile.Read(ref _writtenUntil);

    /// <summary>Every write from now on fails with <paramref name="error"/> and writes nothing.</summary>
    public void FailWith(uint error)
    {
        _errno = error;
        _mode = 1;
    }

    /// <summary>Every write from now on waits (unwritten, uncompleted) until <see cref="Heal"/>.</summary>
    public void Stall() => _mode = 2;

    /// <summary>Writes pass again; stalled ones are issued now.</summary>
    public void Heal()
    {
        _mode = 0;
        while (_stalled.TryDequeue(out Action? write))
        {
            write();
        }
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        switch (_mode)
        {
            case 1:
                Interlocked.Increment(ref _failedWrites);
                uint error = _errno;
                ThreadPool.QueueUserWorkItem(_ => callback(error, 0, context));
                return;
            case 2:
                Interlocked.Increment(ref _stalledWrites);
                _stalled.Enqueue(() => Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context));
                if (_mode == 0 && _stalled.TryDequeue(out Action? write))
                {
                    write(); // Heal ran between the check and the enqueue
                }

                return;
            default:
                long end = segmentId == 0 ? (long)destinationAddress + numBytesToWrite : 0;
                Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, (error, written, state) =>
                {
                    if (error == 0)
                    {
                        long seen;
                        while (end > (seen = Volatile.Read(ref _writtenUntil)) && Interlocked.CompareExchange(ref _writtenUntil, end, seen) != seen)
                        {
                        }
                    }

                    callback(error, written, state);
                }, context);
                return;
        }
    }

    public override void Dispose()
    {
        Heal();
        Inner.Dispose();
    }
}
