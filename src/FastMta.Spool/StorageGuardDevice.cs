using System.Collections.Concurrent;
using FASTER.core;

namespace FastMta.Spool;

/// <summary>
/// Sits between FasterLog and the file device and keeps a failed write from ever reaching FasterLog. FasterLog
/// cannot take a write error back: without <c>TolerateDeviceFailure</c> it fails every later commit until the
/// process restarts (which is how a full disk used to stop the spool for good), and with it the failed range is
/// skipped, leaving a hole of lost records in the middle of the log. So a write that fails is held instead: its
/// completion is not reported, its source (FasterLog's page, which cannot be reused before that completion) stays
/// valid, and it is issued again every <see cref="StorageHealth.RetryInterval"/> until it succeeds. Meanwhile the
/// commit that needs it cannot complete, <see cref="StorageHealth"/> is faulted and the spool refuses mail with the
/// reason (no space: 452 4.3.1). When space returns the retried write succeeds, the commit completes and nothing
/// was lost, skipped or written twice. Only when the device is disposed (shutdown) does a held write complete with
/// its error. Reads and everything else pass straight through.
/// </summary>
internal sealed class StorageGuardDevice : DelegatingDevice
{
    private readonly StorageHealth _health;
    private readonly ConcurrentQueue<HeldWrite> _pool = new();
    private int _disposed;

    public StorageGuardDevice(IDevice inner, StorageHealth health)
        : base(inner)
    {
        _health = health;
    }

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context) =>
        HeldWrite.Rent(this, sourceAddress, segmentId, destinationAddress, numBytesToWrite, callback, context).Issue();

    /// <summary>Held writes are completed with their error by their next retry (FasterLog may wait for them).</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Inner.Dispose();
        }
    }

    /// <summary>
    /// One write from FasterLog until it succeeds (or the device is disposed). Pooled: a commit issues at least one
    /// write, and at low load that is one per message.
    /// </summary>
    private sealed class HeldWrite
    {
        private const int MaxPooled = 64;
        private static readonly DeviceIOCompletionCallback OnCompleted = static (error, bytes, state) => ((HeldWrite)state).Completed(error, bytes);

        private readonly StorageGuardDevice _device;
        private IntPtr _source;
        private int _segment;
        private ulong _destination;
        private uint _length;
        private DeviceIOCompletionCallback? _callback;
        private object? _context;
        private bool _failedBefore;

        private HeldWrite(StorageGuardDevice device) => _device = device;

        public static HeldWrite Rent(StorageGuardDevice device, IntPtr source, int segment, ulong destination, uint length, DeviceIOCompletionCallback callback, object context)
        {
            if (!device._pool.TryDequeue(out HeldWrite? write))
            {
                write = new HeldWrite(device);
            }

            write._source = source;
            write._segment = segment;
            write._destination = destination;
            write._length = length;
            write._callback = callback;
            write._context = context;
            write._failedBefore = false;
            return write;
        }

        public void Issue()
        {
            if (Volatile.Read(ref _device._disposed) != 0 || (_failedBefore && _device._health.GivenUp))
            {
                Completed(StorageFaultCodes.Disposed, 0);
                return;
            }

            _device.Inner.WriteAsync(_source, _segment, _destination, _length, OnCompleted, this);
        }

        private void Completed(uint error, uint bytes)
        {
            if (error != 0 && Volatile.Read(ref _device._disposed) == 0 && !_device._health.GivenUp)
            {
                _device._health.WriteFailed(error, firstAttempt: !_failedBefore, _device.FileName);
                _failedBefore = true;
                _ = Task.Delay(_device._health.RetryInterval).ContinueWith(static (_, state) => ((HeldWrite)state!).Issue(), this,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return;
            }

            if (_failedBefore)
            {
                _device._health.HeldWriteEnded(_device.FileName, written: error == 0); // written at last, or given up at shutdown
            }

            DeviceIOCompletionCallback done = _callback!;
            object doneContext = _context!;
            _callback = null;
            _context = null;
            if (_device._pool.Count < MaxPooled)
            {
                _device._pool.Enqueue(this);
            }

            done(error, error == 0 ? bytes : 0, doneContext);
        }
    }
}

/// <summary>Error codes the guard reports itself.</summary>
internal static class StorageFaultCodes
{
    /// <summary>ECANCELED: the device was disposed while the write was held.</summary>
    public const uint Disposed = 125;
}
