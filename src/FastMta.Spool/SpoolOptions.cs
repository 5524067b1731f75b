namespace FastMta.Spool;

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
    /// <see cref="SpoolUnavailableException"/> (the SMTP side answers 451 4.3.0): back-pressure, never an unbounded wait.
    /// </summary>
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(30);

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

        if (CommitTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CommitTimeout), CommitTimeout, "CommitTimeout must be positive.");
        }
    }
}
