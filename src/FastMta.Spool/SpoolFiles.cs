namespace FastMta.Spool;

/// <summary>
/// On-disk layout of a spool directory:
/// <list type="bullet">
/// <item><c>hlog.log.N</c>: FasterLog segment files (2^SegmentSizeBits bytes of address space each; whole files are
/// deleted when the log is truncated past them).</item>
/// <item><c>log-commits/commit.N.0</c>: FasterLog commit metadata (only the newest is kept).</item>
/// <item><c>spool.watermark</c>: FastMta's own lower bound of the committed tail (see <see cref="SpoolWatermark"/>).</item>
/// </list>
/// </summary>
internal static class SpoolFiles
{
    /// <summary>FasterLog's first valid address: an empty log's begin and tail.</summary>
    public const long FirstAddress = 64;

    public const string CommitDirectory = "log-commits";

    public static string LogFile(string directory) => Path.Combine(directory, RawLog.SegmentFilePrefix);

    public static bool AnyCommitMetadata(string directory)
    {
        string commits = Path.Combine(directory, CommitDirectory);
        return Directory.Exists(commits) && Directory.EnumerateFiles(commits).Any();
    }
}
