using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace FastMta.Spool;

/// <summary>
/// The FasterLog device of <see cref="SpoolDurability.Relaxed"/>: the same segment files, names and byte layout as
/// FASTER's <c>ManagedLocalStorageDevice</c> (which Commit mode uses), but opened without <c>O_SYNC</c>
/// (FASTER's own device always sets <c>FileOptions.WriteThrough</c>, whatever <c>disableFileBuffering</c> says).
/// A finished write has reached the kernel's page cache, not the disk: it survives the death of the process
/// (kill -9), not a power loss or a kernel crash. Writes are issued in the order FASTER asks for them (a
/// synchronous <c>pwrite</c> on the calling thread, then the completion on the thread pool), reads run on the thread
/// pool. With <c>flushOnDispose</c> (the log segments), <see cref="Dispose"/> flushes the files to disk, so a clean
/// shutdown is durable; the commit-metadata devices (one per commit) are disposed without a flush.
/// </summary>
internal sealed class PageCacheLogDevice : StorageDeviceBase
{
    private const uint SectorSize512 = 512;
    private const uint IoError = 1;

    private readonly ConcurrentDictionary<int, SafeFileHandle> handles = new();
    private readonly bool flushOnDispose;
    private int pending;
    private int disposed;

    public PageCacheLogDevice(string filename, bool flushOnDispose)
        : base(filename, SectorSize512, -1)
    {
        this.flushOnDispose = flushOnDispose;
        string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(filename));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
    }

    public override bool Throttle() => Volatile.Read(ref pending) > ThrottleLimit;

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        Interlocked.Increment(ref pending);
        uint error = 0;
        int length = checked((int)numBytesToWrite);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            Marshal.Copy(sourceAddress, buffer, 0, length);
            RandomAccess.Write(Handle(segmentId), buffer.AsSpan(0, length), checked((long)destinationAddress));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            error = IoError;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        // Completions never run on the caller's thread (FASTER may hold its epoch there).
        ThreadPool.UnsafeQueueUserWorkItem(
            state =>
            {
                Interlocked.Decrement(ref state.Device.pending);
                state.Callback(state.Error, state.Error == 0 ? state.Length : 0, state.Context);
            },
            (Device: this, Callback: callback, Error: error, Length: numBytesToWrite, Context: context),
            preferLocal: false);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        Interlocked.Increment(ref pending);
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
        if (handles.TryRemove(segment, out SafeFileHandle? handle))
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
        if (Interlocked.Exchange(ref disposed, 1) == 0)
        {
            CloseHandles(flushOnDispose);
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
            error = IoError;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref pending);
        }

        callback(error, error == 0 ? (uint)done : 0, context);
    }

    private SafeFileHandle Handle(int segmentId)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        return handles.GetOrAdd(segmentId, static (segment, device) => File.OpenHandle(device.SegmentPath(segment), FileMode.OpenOrCreate,
            FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, FileOptions.None), this);
    }

    private string SegmentPath(int segment) =>
        OmitSegmentIdFromFileName ? FileName : FileName + "." + segment.ToString(CultureInfo.InvariantCulture);

    private void CloseHandles(bool flush)
    {
        foreach (int segment in handles.Keys)
        {
            if (handles.TryRemove(segment, out SafeFileHandle? handle))
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
/// Hands <see cref="PageCacheLogDevice"/>s to FasterLog's commit-metadata manager (files <c>log-commits/commit.N.0</c>,
/// the same names and layout as FASTER's <c>LocalStorageNamedDeviceFactory</c>, which lists and deletes them).
/// </summary>
internal sealed class PageCacheDeviceFactory : INamedDeviceFactory
{
    private readonly LocalStorageNamedDeviceFactory files = new();
    private string baseName = string.Empty;

    public void Initialize(string baseName)
    {
        this.baseName = baseName;
        files.Initialize(baseName);
    }

    public IDevice Get(FileDescriptor fileInfo) =>
        new PageCacheLogDevice(System.IO.Path.Combine(baseName, fileInfo.directoryName, fileInfo.fileName), flushOnDispose: false);

    public void Delete(FileDescriptor fileInfo) => files.Delete(fileInfo);

    public IEnumerable<FileDescriptor> ListContents(string path) => files.ListContents(path);
}
