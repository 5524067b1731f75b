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
    private readonly ConcurrentQueue<Action> stalled = new();
    private volatile int mode; // 0 pass, 1 fail, 2 stall
    private uint errno;
    private int failedWrites;
    private int stalledWrites;

    public int FailedWrites => Volatile.Read(ref failedWrites);

    public int StalledWrites => Volatile.Read(ref stalledWrites);

    /// <summary>Every write from now on fails with <paramref name="error"/> and writes nothing.</summary>
    public void FailWith(uint error)
    {
        errno = error;
        mode = 1;
    }

    /// <summary>Every write from now on waits (unwritten, uncompleted) until <see cref="Heal"/>.</summary>
    public void Stall() => mode = 2;

    /// <summary>Writes pass again; stalled ones are issued now.</summary>
    public void Heal()
    {
        mode = 0;
        while (stalled.TryDequeue(out Action? write))
        {
            write();
        }
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        switch (mode)
        {
            case 1:
                Interlocked.Increment(ref failedWrites);
                uint error = errno;
                ThreadPool.QueueUserWorkItem(_ => callback(error, 0, context));
                return;
            case 2:
                Interlocked.Increment(ref stalledWrites);
                stalled.Enqueue(() => Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context));
                if (mode == 0 && stalled.TryDequeue(out Action? write))
                {
                    write(); // Heal ran between the check and the enqueue
                }

                return;
            default:
                Inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
                return;
        }
    }

    public override void Dispose()
    {
        Heal();
        Inner.Dispose();
    }
}
