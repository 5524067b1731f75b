namespace FastMta.Spool;

/// <summary>When a message counts as stored, i.e. when the SMTP side may answer 250 (configuration key <c>Mta:Spool:Durability</c>).</summary>
public enum SpoolDurability
{
    /// <summary>
    /// The default. 250 only after the FasterLog commit that covers the message has completed; the log segments and
    /// the commit metadata are written with <c>O_SYNC</c>, so a finished commit is on stable storage (as far as the
    /// device honours flushes): acknowledged mail survives kill -9, a kernel crash and a power loss.
    /// </summary>
    Commit,

    /// <summary>
    /// For comparisons with MTAs that do not fsync (KumoMTA's default). 250 after the same group commit, but the log
    /// and its commit metadata are written without <c>O_SYNC</c> and never fsynced while running: a finished commit
    /// has reached the kernel's page cache, not the disk. Acknowledged mail survives kill -9 (or any crash of the
    /// FastMta process); a power loss or a kernel crash can lose it until the kernel has written the dirty pages back
    /// (about 30 s by default). After such a loss the spool's watermark check (a lower bound of the committed tail,
    /// fsynced about once a second) refuses to start when the loss reaches below it; a loss of only the mail after
    /// the last watermark goes unnoticed. A clean shutdown flushes the spool to disk.
    /// </summary>
    Relaxed,
}

/// <summary>Settings of the durable message spool (configuration section <c>Mta:Spool</c>).</summary>
public sealed class SpoolOptions
{
    /// <summary>Directory holding the log segments, the commit metadata and the watermark. Created if missing.</summary>
    public string Path { get; set; } = "./data/spool";

    /// <summary>Body bytes per BodyChunk entry; a message's memory footprint while it is received is about one chunk.</summary>
    public int ChunkSize { get; set; } = 256 * 1024;

    /// <summary>log2 of the FasterLog page size. Every entry, the envelope included, must fit one page.</summary>
    public int PageSizeBits { get; set; } = 22;

    /// <summary>log2 of the in-memory part of the log (enqueue waits when it is full of unflushed pages).</summary>
    public int MemorySizeBits { get; set; } = 26;

    /// <summary>log2 of the segment file size; space is given back to the file system per segment.</summary>
    public int SegmentSizeBits { get; set; } = 28;

    /// <summary>
    /// A commit that has not completed within this time fails the waiting writers with
    /// <see cref="SpoolBusyException"/> (the SMTP side answers 451 4.3.0): back-pressure, never an unbounded wait.
    /// </summary>
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>When a 250 may be sent; see <see cref="SpoolDurability"/>. Default <see cref="SpoolDurability.Commit"/>.</summary>
    public SpoolDurability Durability { get; set; } = SpoolDurability.Commit;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("SpoolOptions.Path must be set.");
        }

        if (PageSizeBits is < 16 or > 30)
        {
            throw new ArgumentOutOfRangeException(nameof(PageSizeBits), PageSizeBits, "PageSizeBits must be between 16 and 30.");
        }

        if (MemorySizeBits < PageSizeBits + 1 || MemorySizeBits > 40)
        {
            throw new ArgumentOutOfRangeException(nameof(MemorySizeBits), MemorySizeBits, "MemorySizeBits must hold at least two pages (PageSizeBits + 1) and at most 40.");
        }

        if (SegmentSizeBits < PageSizeBits || SegmentSizeBits > 40)
        {
            throw new ArgumentOutOfRangeException(nameof(SegmentSizeBits), SegmentSizeBits, "SegmentSizeBits must be at least PageSizeBits and at most 40.");
        }

        if (ChunkSize < 4096 || ChunkSize > (1 << PageSizeBits) / 2)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, "ChunkSize must be between 4096 bytes and half a page, so that a chunk and an envelope with its inline tail fit one page.");
        }

        if (!Enum.IsDefined(Durability))
        {
            throw new ArgumentOutOfRangeException(nameof(Durability), Durability, "Durability must be Commit or Relaxed.");
        }

        if (CommitTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CommitTimeout), CommitTimeout, "CommitTimeout must be positive.");
        }
    }
}
