using FASTER.core;

namespace FastMta.Spool;

/// <summary>
/// A FASTER device that passes everything to the device beneath it except writes, which the subclass decides
/// (the spool's <see cref="StorageGuardDevice"/> holds failed ones; tests' faulting device fails or stalls them).
/// Both write overloads end in the segmented one.
/// </summary>
internal abstract class DelegatingDevice(IDevice inner) : IDevice
{
    protected IDevice Inner { get; } = inner;

    public uint SectorSize => Inner.SectorSize;

    public string FileName => Inner.FileName;

    public long Capacity => Inner.Capacity;

    public long SegmentSize => Inner.SegmentSize;

    public int StartSegment => Inner.StartSegment;

    public int EndSegment => Inner.EndSegment;

    public int ThrottleLimit
    {
        get => Inner.ThrottleLimit;
        set => Inner.ThrottleLimit = value;
    }

    public void Initialize(long segmentSize, LightEpoch epoch = null!, bool omitSegmentIdFromFilename = false) =>
        Inner.Initialize(segmentSize, epoch, omitSegmentIdFromFilename);

    public bool TryComplete() => Inner.TryComplete();

    public bool Throttle() => Inner.Throttle();

    public abstract void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context);

    public void WriteAsync(IntPtr alignedSourceAddress, ulong alignedDestinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        // As StorageDeviceBase does, but through this device's write.
        long segmentSize = Inner.SegmentSize;
        int segment = segmentSize > 0 ? (int)((long)alignedDestinationAddress / segmentSize) : 0;
        ulong offset = segmentSize > 0 ? (ulong)((long)alignedDestinationAddress % segmentSize) : alignedDestinationAddress;
        WriteAsync(alignedSourceAddress, segment, offset, numBytesToWrite, callback, context);
    }

    public void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context) =>
        Inner.ReadAsync(segmentId, sourceAddress, destinationAddress, readLength, callback, context);

    public void ReadAsync(ulong alignedSourceAddress, IntPtr alignedDestinationAddress, uint aligned_read_length, DeviceIOCompletionCallback callback, object context) =>
        Inner.ReadAsync(alignedSourceAddress, alignedDestinationAddress, aligned_read_length, callback, context);

    public void TruncateUntilAddressAsync(long toAddress, AsyncCallback callback, IAsyncResult result) => Inner.TruncateUntilAddressAsync(toAddress, callback, result);

    public void TruncateUntilAddress(long toAddress) => Inner.TruncateUntilAddress(toAddress);

    public void TruncateUntilSegmentAsync(int toSegment, AsyncCallback callback, IAsyncResult result) => Inner.TruncateUntilSegmentAsync(toSegment, callback, result);

    public void TruncateUntilSegment(int toSegment) => Inner.TruncateUntilSegment(toSegment);

    public void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result) => Inner.RemoveSegmentAsync(segment, callback, result);

    public void RemoveSegment(int segment) => Inner.RemoveSegment(segment);

    public long GetFileSize(int segment) => Inner.GetFileSize(segment);

    public void Reset() => Inner.Reset();

    public virtual void Dispose() => Inner.Dispose();
}
