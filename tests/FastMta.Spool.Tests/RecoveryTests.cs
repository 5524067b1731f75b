namespace FastMta.Spool.Tests;

public sealed class RecoveryTests
{
    [Fact]
    public async Task FreshAndEmptySpoolsOpen()
    {
        using var temp = new TempSpool();
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            Assert.Empty(await TempSpool.ReadAllAsync(spool));
        }

        Assert.True(File.Exists(Path.Combine(temp.Path, "spool.watermark")));
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            Assert.Empty(await TempSpool.ReadAllAsync(spool));
        }
    }

    [Fact]
    public async Task ReopenAfterDisposeFindsEverythingAndAppendsAfterIt()
    {
        using var temp = new TempSpool();
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            for (int i = 0; i < 10; i++)
            {
                await TempSpool.WriteAsync(spool, TempSpool.Body(i * 1000, i));
            }
        }

        await using (MessageSpool spool = await temp.OpenAsync())
        {
            Assert.Equal(10, (await TempSpool.ReadAllAsync(spool)).Count);
            await TempSpool.WriteAsync(spool, TempSpool.Body(5, 99));
        }

        await using (MessageSpool spool = await temp.OpenAsync())
        {
            List<SpooledMessage> all = await TempSpool.ReadAllAsync(spool);
            Assert.Equal(11, all.Count);
            Assert.True(all[10].Body.Span.SequenceEqual(TempSpool.Body(5, 99)));
        }
    }

    // FastCommitMode puts every commit record into the log itself: without the (occasional) metadata file, recovery
    // finds them by reading the log from its start, and the watermark check confirms nothing acknowledged is missing.
    [Fact]
    public async Task DeletedCommitMetadataIsRecoveredFromTheCommitRecordsInTheLog()
    {
        using var temp = new TempSpool();
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            for (int i = 0; i < 5; i++)
            {
                await TempSpool.WriteAsync(spool, TempSpool.Body(100, i));
            }
        }

        Directory.Delete(Path.Combine(temp.Path, "log-commits"), recursive: true);
        await using MessageSpool reopened = await temp.OpenAsync();
        Assert.Equal(5, (await TempSpool.ReadAllAsync(reopened)).Count);
    }

    [Fact]
    public async Task StaleCommitMetadataIsCaughtUpFromTheCommitRecordsInTheLog()
    {
        using var temp = new TempSpool();
        string commits = Path.Combine(temp.Path, "log-commits");
        string saved = temp.Path + "-old-commits";
        try
        {
            await using (MessageSpool spool = await temp.OpenAsync())
            {
                await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));
            }

            CopyDirectory(commits, saved);
            await using (MessageSpool spool = await temp.OpenAsync())
            {
                await TempSpool.WriteAsync(spool, TempSpool.Body(100, 2));
            }

            Directory.Delete(commits, recursive: true);
            CopyDirectory(saved, commits); // an older commit file: the commit records after it bring recovery up to date
            await using MessageSpool reopened = await temp.OpenAsync();
            Assert.Equal(2, (await TempSpool.ReadAllAsync(reopened)).Count);
        }
        finally
        {
            if (Directory.Exists(saved))
            {
                Directory.Delete(saved, recursive: true);
            }
        }
    }

    [Fact]
    public async Task RefusesWhenWatermarkIsAheadOfRecoveredLog()
    {
        using var temp = new TempSpool();
        long committed;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));
            committed = spool.CommittedUntilAddress;
        }

        SpoolWatermark.Write(temp.Path, committed + 4096);
        SpoolRecoveryException e = await Assert.ThrowsAsync<SpoolRecoveryException>(temp.OpenAsync);
        Assert.Contains((committed + 4096).ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);

        SpoolWatermark.Write(temp.Path, committed);
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            Assert.Single(await TempSpool.ReadAllAsync(spool));
        }
    }

    [Fact]
    public async Task RefusesWhenWatermarkIsMissingOrCorrupt()
    {
        using var temp = new TempSpool();
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            await TempSpool.WriteAsync(spool, TempSpool.Body(100, 1));
        }

        string watermark = Path.Combine(temp.Path, "spool.watermark");
        byte[] original = File.ReadAllBytes(watermark);
        byte[] flipped = (byte[])original.Clone();
        flipped[9] ^= 0x01;
        File.WriteAllBytes(watermark, flipped);
        await Assert.ThrowsAsync<SpoolRecoveryException>(temp.OpenAsync);

        File.Delete(watermark);
        await Assert.ThrowsAsync<SpoolRecoveryException>(temp.OpenAsync);

        File.WriteAllBytes(watermark, original);
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            Assert.Single(await TempSpool.ReadAllAsync(spool));
        }
    }

    [Fact]
    public async Task CorruptByteInAnOlderPageIsReportedNotSkipped()
    {
        using var temp = SmallPages();
        long victim = await WriteSeveralPagesAsync(temp);
        FlipByte(temp, victim + RawLog.EntryHeaderLength + 30);
        await using MessageSpool spool = await temp.OpenAsync();
        SpoolCorruptException e = await Assert.ThrowsAsync<SpoolCorruptException>(() => TempSpool.ReadAllAsync(spool));
        Assert.Equal(victim, e.LogAddress);
    }

    [Fact]
    public async Task ZeroedLengthFieldIsReportedNotSkipped()
    {
        using var temp = SmallPages();
        long victim = await WriteSeveralPagesAsync(temp);
        using (FileStream file = File.Open(temp.SegmentFile(), FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = victim + 8; // FasterLog's length field: with it zeroed, its scan skips the rest of the page
            file.Write(new byte[4]);
        }

        await using MessageSpool spool = await temp.OpenAsync();
        SpoolCorruptException e = await Assert.ThrowsAsync<SpoolCorruptException>(() => TempSpool.ReadAllAsync(spool));
        Assert.Equal(victim, e.LogAddress);
    }

    [Fact]
    public async Task CorruptByteInTheTailPageRefusesStart()
    {
        using var temp = SmallPages();
        await WriteSeveralPagesAsync(temp);
        long last;
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            last = (await TempSpool.ReadAllAsync(spool))[^1].LogAddress;
        }

        FlipByte(temp, last + RawLog.EntryHeaderLength + 40);
        SpoolRecoveryException e = await Assert.ThrowsAsync<SpoolRecoveryException>(temp.OpenAsync);
        Assert.Contains(last.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
    }

    private static TempSpool SmallPages() => new(chunkSize: 16 * 1024, pageSizeBits: 16, memorySizeBits: 18, segmentSizeBits: 20);

    /// <summary>Writes a small first message, then enough to fill several 64 KiB pages; returns the first envelope's address.</summary>
    private static async Task<long> WriteSeveralPagesAsync(TempSpool temp)
    {
        await using MessageSpool spool = await temp.OpenAsync();
        await TempSpool.WriteAsync(spool, TempSpool.Body(500, 1));
        for (int i = 0; i < 12; i++)
        {
            await TempSpool.WriteAsync(spool, TempSpool.Body(30_000, i + 2), piece: 4096);
        }

        List<SpooledMessage> all = await TempSpool.ReadAllAsync(spool);
        Assert.Equal(13, all.Count);
        Assert.True(spool.CommittedUntilAddress > 4 * 65536);
        return all[0].LogAddress;
    }

    private static void FlipByte(TempSpool temp, long offset)
    {
        using FileStream file = File.Open(temp.SegmentFile(), FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int b = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(b ^ 0x5A));
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
    }
}
