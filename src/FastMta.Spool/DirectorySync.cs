using System.Runtime.InteropServices;

namespace FastMta.Spool;

/// <summary>fsync of a directory (POSIX), so that a rename or a new directory entry survives a power loss.</summary>
internal static class DirectorySync
{
    private const int ORdOnly = 0;

    public static void Fsync(string directory)
    {
        int fd = Open(directory, ORdOnly);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory {directory} to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (FsyncFd(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code, which this repository does not allow.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int FsyncFd(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
#pragma warning restore SYSLIB1054
}
