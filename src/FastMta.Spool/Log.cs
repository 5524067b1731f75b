using Microsoft.Extensions.Logging;

namespace FastMta.Spool;

internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Spool opened at {Path}: log {BeginAddress}..{CommittedUntil}, watermark {Watermark}, verified in {ElapsedMs:F0} ms")]
    public static partial void SpoolOpened(ILogger logger, string path, long beginAddress, long committedUntil, long watermark, double elapsedMs);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Created a new spool at {Path}")]
    public static partial void SpoolCreated(ILogger logger, string path);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Spool at {Path} holds log data but no commit was ever acknowledged (watermark at the start of the log); starting with an empty log")]
    public static partial void UncommittedDataIgnored(ILogger logger, string path);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Critical, Message = "Spool refused to start: {Reason}")]
    public static partial void RecoveryRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Critical, Message = "Spool commit failed; the spool no longer accepts mail")]
    public static partial void CommitFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "{Count} message(s) waited longer than {TimeoutMs} ms for a spool commit and were refused (back-pressure)")]
    public static partial void CommitTimedOut(ILogger logger, int count, double timeoutMs);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Error, Message = "Writing the spool watermark failed; recovery checks use the previous one")]
    public static partial void WatermarkFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Spool closed at committed address {CommittedUntil}")]
    public static partial void SpoolClosed(ILogger logger, long committedUntil);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Error, Message = "Corrupt spool record at log address {Address}")]
    public static partial void CorruptRecord(ILogger logger, long address, Exception exception);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Error, Message = "Flushing the spool's commit metadata to disk at shutdown failed (Durability = Relaxed); it reached the page cache only")]
    public static partial void ShutdownFlushFailed(ILogger logger, Exception exception);
}
