using System.Globalization;
using FastMta.Tests.Shared;

namespace FastMta.Spool.Tests;

/// <summary>
/// Mta:Spool:Durability. Commit writes the log with O_SYNC (FASTER's device); Relaxed writes the same files through the
/// page cache. Both must recover the same way, keep the watermark checks, and have every acknowledged message in the
/// files the moment CommitAsync returns (which is what survives kill -9 of the process: the kernel keeps the page cache).
/// </summary>
public sealed class DurabilityTests
{
    private const int OSync = 0x101000; // O_SYNC on Linux (__O_SYNC | O_DSYNC), octal 04010000

    [Theory]
    [InlineData(SpoolDurability.Commit, true)]
    [InlineData(SpoolDurability.Relaxed, false)]
    public async Task LogSegmentIsOpenedWithOSyncOnlyInCommitMode(SpoolDurability durability, bool expectSync)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // reads /proc/self/fdinfo
        }

        using var temp = new TempSpool(durability: durability);
        await using MessageSpool spool = await temp.OpenAsync();
        Assert.Equal(durability, spool.Durability);
        await TempSpool.WriteAsync(spool, TempSpool.Body(2000, 1));

        List<int> flags = OpenFlags(temp.SegmentFile(0));
        Assert.NotEmpty(flags);
        foreach (int f in flags.Where(f => (f & 3) != 0)) // the handles FASTER writes through (O_WRONLY or O_RDWR)
        {
            Assert.Equal(expectSync, (f & OSync) == OSync);
        }

        Assert.Contains(flags, f => (f & 3) != 0);
    }

    [Theory]
    [InlineData(SpoolDurability.Commit)]
    [InlineData(SpoolDurability.Relaxed)]
    public async Task AcknowledgedMessagesAreInTheFilesBeforeAnyClose(SpoolDurability durability)
    {
        // A copy of the spool directory taken while the spool is still open is what a kill -9 leaves behind: the
        // files as the kernel holds them, no shutdown commit, no flush.
        using var temp = new TempSpool(durability: durability);
        string copy = temp.Path + "-copy";
        try
        {
            var bodies = new List<byte[]>();
            await using (MessageSpool spool = await temp.OpenAsync())
            {
                for (int i = 0; i < 50; i++)
                {
                    byte[] body = TempSpool.Body(100 + (i * 997), i);
                    await TempSpool.WriteAsync(spool, body);
                    bodies.Add(body);
                }

                CopyDirectory(temp.Path, copy);
            }

            foreach (SpoolDurability reopenAs in new[] { durability, durability == SpoolDurability.Commit ? SpoolDurability.Relaxed : SpoolDurability.Commit })
            {
                string again = copy + "-" + reopenAs;
                CopyDirectory(copy, again);
                var options = new SpoolOptions { Path = again, Durability = reopenAs };
                await using (MessageSpool spool = await MessageSpool.OpenAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TestMeters.Create()))
                {
                    List<SpooledMessage> all = await TempSpool.ReadAllAsync(spool);
                    Assert.Equal(bodies.Count, all.Count);
                    for (int i = 0; i < bodies.Count; i++)
                    {
                        Assert.True(all[i].Body.Span.SequenceEqual(bodies[i]), $"message {i} differs after reopening as {reopenAs}");
                    }

                    await TempSpool.WriteAsync(spool, TempSpool.Body(10, 7)); // and the log takes more after recovery
                }

                Directory.Delete(again, recursive: true);
            }
        }
        finally
        {
            if (Directory.Exists(copy))
            {
                Directory.Delete(copy, recursive: true);
            }
        }
    }

    [Fact]
    public async Task RelaxedReopenAfterDisposeAcrossSegmentsAndTruncation()
    {
        using var temp = new TempSpool(chunkSize: 16 * 1024, pageSizeBits: 16, memorySizeBits: 18, segmentSizeBits: 17, durability: SpoolDurability.Relaxed);
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            for (int i = 0; i < 40; i++)
            {
                await TempSpool.WriteAsync(spool, TempSpool.Body(20_000, i)); // several 128 KiB segments
            }
        }

        Assert.True(File.Exists(temp.SegmentFile(1)));
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            List<SpooledMessage> all = await TempSpool.ReadAllAsync(spool);
            Assert.Equal(40, all.Count);
            for (int i = 0; i < all.Count; i++)
            {
                Assert.True(all[i].Body.Span.SequenceEqual(TempSpool.Body(20_000, i)));
            }
        }
    }

    [Fact]
    public async Task RelaxedKeepsTheWatermarkChecks()
    {
        using var temp = new TempSpool(durability: SpoolDurability.Relaxed);
        long committed;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));
            committed = spool.CommittedUntilAddress;
        }

        Assert.Equal(SpoolWatermark.Status.Valid, SpoolWatermark.TryRead(temp.Path, out long watermark, out _));
        Assert.Equal(committed, watermark); // written at the clean shutdown

        // The watermark ahead of what the log recovers (lost commit metadata, or a power loss in Relaxed mode).
        SpoolWatermark.Write(temp.Path, committed + 4096);
        SpoolRecoveryException ahead = await Assert.ThrowsAsync<SpoolRecoveryException>(temp.OpenAsync);
        Assert.Contains((committed + 4096).ToString(CultureInfo.InvariantCulture), ahead.Message);
        SpoolWatermark.Write(temp.Path, committed);

        await using (MessageSpool spool = await temp.OpenAsync())
        {
            Assert.Single(await TempSpool.ReadAllAsync(spool));
        }
    }

    [Fact]
    public void UndefinedDurabilityIsRejected()
    {
        var options = new SpoolOptions { Path = "unused", Durability = (SpoolDurability)7 };
        Assert.Throws<ArgumentOutOfRangeException>(options.Validate);
    }

    /// <summary>The open-file flags (octal "flags:" of /proc/self/fdinfo) of every descriptor of this process on <paramref name="path"/>.</summary>
    private static List<int> OpenFlags(string path)
    {
        string full = Path.GetFullPath(path);
        var flags = new List<int>();
        foreach (string fd in Directory.EnumerateFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(fd).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed meanwhile
            }

            if (target != full)
            {
                continue;
            }

            string info;
            try
            {
                info = File.ReadAllText(Path.Combine("/proc/self/fdinfo", Path.GetFileName(fd)));
            }
            catch (IOException)
            {
                continue;
            }

            string line = info.Split('\n').First(l => l.StartsWith("flags:", StringComparison.Ordinal));
            flags.Add(Convert.ToInt32(line["flags:".Length..].Trim(), 8));
        }

        return flags;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from))
        {
            if (Path.GetFileName(file) == SpoolLock.FileName)
            {
                continue; // flock'ed by the open spool (.NET's File.Copy would need a shared lock on it); a kill -9 leaves it unlocked
            }

            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }

        foreach (string dir in Directory.EnumerateDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}
