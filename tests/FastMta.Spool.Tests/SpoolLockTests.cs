
namespace FastMta.Spool.Tests;

/// <summary>One process per spool (the flock'ed lock file) and a fresh spool's start-up log.</summary>
public sealed class SpoolLockTests
{
    [Fact]
    public async Task ASecondOpenOfTheSameSpoolIsRefusedNamingTheHolderUntilTheFirstCloses()
    {
        using var temp = new TempSpool();
        MessageSpool first = await temp.OpenAsync();
        try
        {
            await TempSpool.WriteAsync(first, TempSpool.Body(100, 1));
            // flock conflicts between two open file descriptions even within one process: this is the second FastMta.
            SpoolLockedException refused = await Assert.ThrowsAsync<SpoolLockedException>(() => temp.OpenAsync());
            Assert.Equal(Environment.ProcessId, refused.HolderProcessId);
            Assert.Contains($"process {Environment.ProcessId}", refused.Message);
            Assert.Contains(temp.Path, refused.Message);

            if (OperatingSystem.IsLinux())
            {
                // .NET's FileShare.None is flock(LOCK_EX): the kernel lists it as an exclusive FLOCK of this process.
                string inode = InodeOf(Path.Combine(temp.Path, SpoolLock.FileName));
                Assert.Contains(File.ReadAllLines("/proc/locks"), l => l.Contains("FLOCK", StringComparison.Ordinal) && l.Contains("WRITE", StringComparison.Ordinal)
                    && l.Contains($" {Environment.ProcessId} ", StringComparison.Ordinal) && l.Contains(":" + inode + " ", StringComparison.Ordinal));
            }

            await TempSpool.WriteAsync(first, TempSpool.Body(100, 2)); // the refused open touched nothing
        }
        finally
        {
            await first.DisposeAsync();
        }

        await using MessageSpool again = await temp.OpenAsync();
        Assert.Equal(2, (await TempSpool.ReadAllAsync(again)).Count);
    }

    [Fact]
    public async Task AFreshSpoolSaysSoInClearWordsAndNotUnableToRecover()
    {
        using var temp = new TempSpool();
        var created = new ListLogger();
        await using (MessageSpool spool = await temp.OpenAsync(new SpoolDeviceHooks(), created))
        {
        }

        var empty = new ListLogger();
        await using (MessageSpool spool = await temp.OpenAsync(new SpoolDeviceHooks(), empty))
        {
            await TempSpool.WriteAsync(spool, TempSpool.Body(10, 1));
        }

        var used = new ListLogger();
        await using (MessageSpool spool = await temp.OpenAsync(new SpoolDeviceHooks(), used))
        {
            Assert.Single(await TempSpool.ReadAllAsync(spool));
        }

        Assert.DoesNotContain(created.Lines, l => l.Contains("Unable to recover", StringComparison.Ordinal));
        Assert.Contains(created.Lines, l => l.StartsWith("Information: Created a new spool", StringComparison.Ordinal));
        Assert.DoesNotContain(empty.Lines, l => l.Contains("Unable to recover", StringComparison.Ordinal));
        Assert.Contains(empty.Lines, l => l.StartsWith("Information: Spool at", StringComparison.Ordinal) && l.Contains("nothing to recover", StringComparison.Ordinal));
        Assert.DoesNotContain(used.Lines, l => l.Contains("nothing to recover", StringComparison.Ordinal));
    }

    private static string InodeOf(string path)
    {
        // /proc/locks names the file as major:minor:inode; ls -i prints the inode (no P/Invoke in the tests).
        using var ls = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ls", ["-i", path]) { RedirectStandardOutput = true })!;
        string output = ls.StandardOutput.ReadToEnd();
        ls.WaitForExit(10_000);
        return output.Trim().Split(' ')[0];
    }
}
