using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace FastMta.Spool;

/// <summary>
/// The exclusive lock of one spool directory for the lifetime of the process that opened it (as Postfix's
/// <c>master.lock</c>): two processes appending to one FasterLog would interleave their writes and leave a log that
/// no longer recovers. The lock is an <c>flock(LOCK_EX | LOCK_NB)</c> on <see cref="FileName"/> in the spool
/// directory; the kernel drops it when the holder dies, however it dies (kill -9 included), so a stale lock file
/// never blocks a restart. The pid written into the file is informational: it names the holder in the refusal.
/// </summary>
/// <remarks>
/// .NET on Linux implements <see cref="FileShare.None"/> with exactly that call: <c>FileStream</c> takes
/// <c>flock(LOCK_EX | LOCK_NB)</c> on the descriptor it opened (verified on Linux: /proc/locks shows
/// "FLOCK ADVISORY WRITE" for the holder, and a second open fails at once with EWOULDBLOCK, HResult 11), and every
/// other <see cref="FileShare"/> takes <c>LOCK_SH</c>, so even reading the file through .NET fails while it is held.
/// The pid is therefore read with plain <c>open</c>/<c>read</c>, which take no lock. The runtime switch
/// <c>System.IO.DisableFileLocking</c> (<c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c>) turns that flock off; the
/// spool refuses to open rather than run unprotected.
/// </remarks>
internal sealed class SpoolLock : IDisposable
{
    public const string FileName = "fastmta.lock";

    private const int EWouldBlock = 11; // EAGAIN on Linux; .NET puts the errno in the IOException's HResult
    private const int ORdOnly = 0;

    private readonly FileStream _stream;

    private SpoolLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock or throws <see cref="SpoolLockedException"/> naming the process that holds it.</summary>
    public static SpoolLock Acquire(string directory)
    {
        if (LockingDisabled())
        {
            throw new SpoolLockedException(
                $"File locking is disabled in this process (System.IO.DisableFileLocking / DOTNET_SYSTEM_IO_DISABLEFILELOCKING), so the spool at {directory} cannot be protected against a second FastMta; unset it.", 0);
        }

        string path = Path.Combine(directory, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        }
        catch (IOException e) when (e.HResult == EWouldBlock)
        {
            int holder = ReadHolder(path);
            string who = holder > 0 ? $"process {holder.ToString(CultureInfo.InvariantCulture)}" : "another process";
            throw new SpoolLockedException(
                $"The spool at {directory} is in use by {who} (lock file {path}): another FastMta runs on it. Two processes on one spool would corrupt it; stop the other one or give this one its own Mta:Spool:Path.",
                holder, e);
        }

        try
        {
            byte[] pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n");
            stream.SetLength(0);
            stream.Write(pid);
            stream.Flush();
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        return new SpoolLock(stream);
    }

    /// <summary>Closing the descriptor releases the flock. The file stays: deleting it could race a starting process.</summary>
    public void Dispose() => _stream.Dispose();

    private static bool LockingDisabled()
    {
        if (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out bool disabled) && disabled)
        {
            return true;
        }

        string? variable = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING");
        return variable is not null && (variable == "1" || variable.Equals("true", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The pid in the lock file, or 0 when it cannot be read (best effort: the refusal does not depend on it).</summary>
    private static int ReadHolder(string path)
    {
        int fd = Open(path, ORdOnly);
        if (fd < 0)
        {
            return 0;
        }

        try
        {
            byte[] buffer = new byte[32];
            nint read = Read(fd, buffer, buffer.Length);
            return read > 0 && int.TryParse(Encoding.ASCII.GetString(buffer, 0, (int)read).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                ? pid
                : 0;
        }
        finally
        {
            _ = Close(fd);
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code, which this repository does not allow.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "read", SetLastError = true)]
    private static extern nint Read(int fd, byte[] buffer, nint count);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
#pragma warning restore SYSLIB1054
}
