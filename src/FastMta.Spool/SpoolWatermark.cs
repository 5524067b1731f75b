using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace FastMta.Spool;

/// <summary>
/// The sidecar file <c>spool.watermark</c>: a lower bound of the committed tail, written by the committer off the hot
/// path (after the first commit, then at most once a second or every 64 MiB, and at clean shutdown). Recovery refuses
/// to start when FasterLog recovers less than this. Written atomically: temp file, fsync, rename, directory fsync.
/// Layout (32 bytes, little-endian): u32 magic "FMWM", u32 version 1, i64 committed-until address, i64 written at
/// (unix ms), u64 FNV-1a 64 of the first 24 bytes.
/// </summary>
internal static class SpoolWatermark
{
    public const string FileName = "spool.watermark";
    private const uint Magic = 0x4D574D46; // "FMWM"
    private const uint Version = 1;
    private const int Length = 32;

    public enum Status
    {
        Missing,
        Valid,
        Corrupt,
    }

    public static Status TryRead(string directory, out long committedUntil, out string detail)
    {
        committedUntil = 0;
        detail = string.Empty;
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return Status.Missing;
        }

        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length != Length)
        {
            detail = $"{path} has {bytes.Length} bytes, expected {Length}";
            return Status.Corrupt;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)) != Version)
        {
            detail = $"{path} has a bad magic or version";
            return Status.Corrupt;
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(24)) != Fnv1a(bytes.AsSpan(0, 24)))
        {
            detail = $"{path} fails its checksum";
            return Status.Corrupt;
        }

        committedUntil = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8));
        return Status.Valid;
    }

    public static void Write(string directory, long committedUntil)
    {
        Span<byte> bytes = stackalloc byte[Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[4..], Version);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], committedUntil);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[24..], Fnv1a(bytes[..24]));

        string path = Path.Combine(directory, FileName);
        string temp = path + ".tmp";
        using (SafeFileHandle handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(handle, bytes, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temp, path, overwrite: true);
        FsyncDirectory(directory);
    }

    private static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // NTFS metadata is journaled; directories cannot be opened for flushing there.
        }

        // .NET cannot open a directory as a FileStream; an O_RDONLY handle on the directory plus fsync is what
        // makes the rename durable on Linux. File.OpenHandle refuses directories, so go through the libc call.
        DirectorySync.Fsync(directory);
    }

    internal static ulong Fnv1a(ReadOnlySpan<byte> data)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in data)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }

        return hash;
    }
}
