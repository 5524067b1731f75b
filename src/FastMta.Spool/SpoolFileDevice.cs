using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace FastMta.Spool;

/// <summary>
/// The spool's FasterLog device, for both durabilities: the same segment files, names and byte layout as FASTER's
/// <c>ManagedLocalStorageDevice</c>, with two differences that FASTER's device cannot give. With
/// <c>writeThrough</c> (<see cref="SpoolDurability.Commit"/>) the files are opened with <c>O_SYNC</c>
/// (<see cref="FileOptions.WriteThrough"/>) and each write runs on the thread pool, as FASTER's asynchronous file
/// writes do, so that a page flush does not block the session that crossed the page boundary; without it
/// (<see cref="SpoolDurability.Relaxed"/>) the files go through the page cache (FASTER's device always sets
/// <c>WriteThrough</c>, whatever <c>disableFileBuffering</c> says) and each write is a synchronous <c>pwrite</c> on
/// the calling thread. And a failed write reports the errno (28 for ENOSPC) as its error code, where FASTER's
/// device reports 4294967295 for every failure: <see cref="StorageGuardDevice"/>, above it, tells a full disk from
/// an I/O error that way. A write ends on a completion on the thread pool, never on the caller's thread (FASTER
/// may hold its epoch there); reads run on the thread pool. With <c>flushOnDispose</c> (the log segments of
/// Relaxed), <see cref="Dispose"/> flushes the files to disk, so a clean shutdown is durable.
/// </summary>
internal sealed class SpoolFileDevice : StorageDeviceBase
{
    private const uint SectorSize512 = 512;
    private const uint Eio = 5;

    private readonly ConcurrentDictionary<int, SafeFileHandle> _handles = new();
    private readonly bool _writeThrough;
    private readonly bool _flushOnDispose;
    private int _pending;
    private int _disposed;

    public SpoolFileDevice(string filename, bool writeThrough, bool flushOnDispose)
        : base(filename, SectorSize512, -1)
    {
        _writeThrough = writeThrough;
        _flushOnDispose = flushOnDispose;
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(filename));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
    }

    public override bool Throttle() => Volatile.Read(ref _pending) > ThrottleLimit;

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        Interlocked.Increment(ref _pending);
        if (_writeThrough)
        {
            // An O_SYNC write lasts as long as the disk takes: not on the caller's thread.
            ThreadPool.UnsafeQueueUserWorkItem(
                state =>
                {
                    uint error = state.Device.Write(state.Source, state.Segment, state.Destination, state.Length);
                    Interlocked.Decrement(ref state.Device._pending);
                    state.Callback(error, error == 0 ? state.Length : 0, state.Context);
                },
                (Device: this, Source: sourceAddress, Segment: segmentId, Destination: destinationAddress, Length: numBytesToWrite, Callback: callback, Context: context),
                preferLocal: false);
            return;
        }

        uint result = Write(sourceAddress, segmentId, destinationAddress, numBytesToWrite);

        // Completions never run on the caller's thread (FASTER may hold its epoch there).
        ThreadPool.UnsafeQueueUserWorkItem(
            state =>
            {
                Interlocked.Decrement(ref state.Device._pending);
                state.Callback(state.Error, state.Error == 0 ? state.Length : 0, state.Context);
            },
            (Device: this, Callback: callback, Error: result, Length: numBytesToWrite, Context: context),
            preferLocal: false);
    }

    /// <summary>One pwrite of the whole range; 0, or the errno of the failure (EIO when there is none).</summary>
    private uint Write(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite)
    {
        int length = checked((int)numBytesToWrite);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            Marshal.Copy(sourceAddress, buffer, 0, length);
            RandomAccess.Write(Handle(segmentId), buffer.AsSpan(0, length), checked((long)destinationAddress));
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return ErrorCode(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>.NET on Unix puts the errno of a failed system call into the IOException's HResult (ENOSPC: 28).</summary>
    internal static uint ErrorCode(Exception e) => e is IOException && e.HResult is > 0 and < 4096 ? (uint)e.HResult : Eio;

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        Interlocked.Increment(ref _pending);
        ThreadPool.UnsafeQueueUserWorkItem(
            state => state.Device.Read(state.Segment, state.Source, state.Destination, state.Length, state.Callback, state.Context),
            (Device: this, Segment: segmentId, Source: sourceAddress, Destination: destinationAddress, Length: readLength, Callback: callback, Context: context),
            preferLocal: false);
    }

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    public override void RemoveSegment(int segment)
    {
        if (_handles.TryRemove(segment, out SafeFileHandle? handle))
        {
            handle.Dispose();
        }

        try
        {
            File.Delete(SegmentPath(segment));
        }
        catch (IOException)
        {
            // FASTER deletes segments as best effort; a leftover segment below BeginAddress is never read.
        }
    }

    public override long GetFileSize(int segment)
    {
        if (SegmentSize > 0)
        {
            return SegmentSize;
        }

        var info = new FileInfo(SegmentPath(segment));
        return info.Exists ? info.Length : 0;
    }

    public override void Reset() => CloseHandles(flush: false);

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // I/O already started finishes on its handle (bounded: a write in flight at shutdown is a disk's latency).
            long deadline = Environment.TickCount64 + 2000;
            var spin = default(SpinWait);
            while (Volatile.Read(ref _pending) > 0 && Environment.TickCount64 < deadline)
            {
                spin.SpinOnce(sleep1Threshold: 10);
            }

            CloseHandles(_flushOnDispose);
        }
    }

    private void Read(int segmentId, ulong sourceAddress, IntPtr destination, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        uint error = 0;
        int length = checked((int)readLength);
        int done = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            SafeFileHandle handle = Handle(segmentId);
            long offset = checked((long)sourceAddress);
            while (done < length)
            {
                int read = RandomAccess.Read(handle, buffer.AsSpan(done, length - done), offset + done);
                if (read == 0)
                {
                    break; // end of file: the rest reads as zeros (no entry)
                }

                done += read;
            }

            buffer.AsSpan(done, length - done).Clear();
            Marshal.Copy(buffer, 0, destination, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            error = ErrorCode(e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref _pending);
        }

        callback(error, error == 0 ? (uint)done : 0, context);
    }

    private SafeFileHandle Handle(int segmentId)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_handles.TryGetValue(segmentId, out SafeFileHandle? handle))
        {
            return handle;
        }

        // Opening and closing exclude each other: a read that raced Dispose would otherwise open a handle after
        // CloseHandles ran and leave it open (with .NET's shared flock on the file) until the GC finalized it.
        lock (_handles)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _handles.GetOrAdd(segmentId, static (segment, device) => File.OpenHandle(device.SegmentPath(segment), FileMode.OpenOrCreate,
                FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, device._writeThrough ? FileOptions.WriteThrough : FileOptions.None), this);
        }
    }

    private string SegmentPath(int segment) =>
        OmitSegmentIdFromFileName ? FileName : FileName + "." + segment.ToString(CultureInfo.InvariantCulture);

    private void CloseHandles(bool flush)
    {
        lock (_handles)
        {
            CloseHandlesLocked(flush);
        }
    }

    private void CloseHandlesLocked(bool flush)
    {
        foreach (int segment in _handles.Keys)
        {
            if (_handles.TryRemove(segment, out SafeFileHandle? handle))
            {
                try
                {
                    if (flush)
                    {
                        RandomAccess.FlushToDisk(handle);
                    }
                }
                finally
                {
                    handle.Dispose();
                }
            }
        }
    }
}

/// <summary>
/// Hands FasterLog's commit-metadata manager a <see cref="SpoolFileDevice"/> behind a <see cref="StorageGuardDevice"/>
/// per file (<c>log-commits/commit.N.0</c>, the same names and layout as FASTER's
/// <c>LocalStorageNamedDeviceFactory</c>, which lists and deletes them), so a full disk while a metadata file is
/// written is held and retried like a log write.
/// </summary>
internal sealed class SpoolDeviceFactory(bool writeThrough, StorageHealth health) : INamedDeviceFactory
{
    private readonly LocalStorageNamedDeviceFactory _files = new();
    private string _baseName = string.Empty;

    public void Initialize(string baseName)
    {
        _baseName = baseName;
        _files.Initialize(baseName);
    }

    public IDevice Get(FileDescriptor fileInfo) =>
        new StorageGuardDevice(new SpoolFileDevice(System.IO.Path.Combine(_baseName, fileInfo.directoryName, fileInfo.fileName), writeThrough, flushOnDispose: false), health);

    public void Delete(FileDescriptor fileInfo) => _files.Delete(fileInfo);

    public IEnumerable<FileDescriptor> ListContents(string path) => _files.ListContents(path);
}
