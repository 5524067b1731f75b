using System.Collections.Concurrent;
using FASTER.core;

namespace FastMta.Spool.Tests;

/// <summary>
/// A FASTER device around the spool's real one that the test can break: fail every write with an errno (ENOSPC 28,
/// EIO 5) without writing, or stall writes (held until <see cref="Heal"/>), as a full or hung disk would. Reads and
/// everything else pass through. Placed below the spool's StorageGuardDevice it plays the disk; above it, FasterLog
/// sees its failures directly.
/// </summary>
internal sealed class FaultingDevice(IDevice inner) : IDevice
{
    private readonly ConcurrentQueue<Action> stalled = new();
    private volatile int mode; // 0 pass, 1 fail, 2 stall
    private uint errno;
    private int failedWrites;
    private int stalledWrites;

    public int FailedWrites => Volatile.Read(ref failedWrites);

    public int StalledWrites => Volatile.Read(ref stalledWrites);

    public uint SectorSize => inner.SectorSize;

    public string FileName => inner.FileName;

    public long Capacity => inner.Capacity;

    public long SegmentSize => inner.SegmentSize;

    public int StartSegment => inner.StartSegment;

    public int EndSegment => inner.EndSegment;

    public int ThrottleLimit
    {
        get => inner.ThrottleLimit;
        set => inner.ThrottleLimit = value;
    }

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

    public void Initialize(long segmentSize, LightEpoch epoch = null!, bool omitSegmentIdFromFilename = false) =>
        inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);

    public bool TryComplete() => inner.TryComplete();

    public bool Throttle() => inner.Throttle();

    public void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
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
                stalled.Enqueue(() => inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context));
                if (mode == 0 && stalled.TryDequeue(out Action? write))
                {
                    write(); // Heal ran between the check and the enqueue
                }

                return;
            default:
                inner.WriteAsync(sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context);
                return;
        }
    }

    public void WriteAsync(IntPtr alignedSourceAddress, ulong alignedDestinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        long segmentSize = inner.SegmentSize;
        int segment = segmentSize > 0 ? (int)((long)alignedDestinationAddress / segmentSize) : 0;
        ulong offset = segmentSize > 0 ? (ulong)((long)alignedDestinationAddress % segmentSize) : alignedDestinationAddress;
        WriteAsync(alignedSourceAddress, segment, offset, numBytesToWrite, callback, context);
    }

    public void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context) =>
        inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);

    public void ReadAsync(ulong alignedSourceAddress, IntPtr alignedDestinationAddress, uint aligned_read_length, DeviceIOCompletionCallback callback, object context) =>
        inner.ReadAsync(alignedSourceAddress, alignedDestinationAddress, aligned_read_length, callback, context);

    public void TruncateUntilAddressAsync(long toAddress, AsyncCallback callback, IAsyncResult result) => inner.TruncateUntilAddressAsync(toAddress, callback, result);

    public void TruncateUntilAddress(long toAddress) => inner.TruncateUntilAddress(toAddress);

    public void TruncateUntilSegmentAsync(int toSegment, AsyncCallback callback, IAsyncResult result) => inner.TruncateUntilSegmentAsync(toSegment, callback, result);

    public void TruncateUntilSegment(int toSegment) => inner.TruncateUntilSegment(toSegment);

    public void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) => inner.RemoveSegmentAsync(segment, callback, result);

    public void RemoveSegment(int segment) => inner.RemoveSegment(segment);

    public long GetFileSize(int segment) => inner.GetFileSize(segment);

    public void Reset() => inner.Reset();

    public void Dispose()
    {
        Heal();
        inner.Dispose();
    }
}
