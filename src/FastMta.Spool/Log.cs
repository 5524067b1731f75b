using Microsoft.Extensions.Logging;

namespace FastMta.Spool;

// Event ids 1000-1999 belong to FastMta.Spool (the ranges of every project: README, Monitoring, "Event ids").
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

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Spool committer failed ({Failures} time(s) in a row); mail is refused until a commit succeeds, restarting it in {DelayMs} ms")]
    public static partial void CommitterFailed(ILogger logger, Exception exception, int failures, double delayMs);

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

    [LoggerMessage(EventId = 1010, Level = LogLevel.Error, Message = "Spool write to {File} failed: {Error}. The write is held and retried every {RetryMs} ms; mail is refused until it succeeds ({Held} write(s) held)")]
    public static partial void StorageFaulted(ILogger logger, string error, string file, int held, double retryMs);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Spool storage writable again after {Seconds:F1} s ({Error} cleared, {File}); mail is accepted again")]
    public static partial void StorageRecovered(ILogger logger, string error, string file, double seconds);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Spool committer recovered after {Failures} failure(s); mail is accepted again")]
    public static partial void CommitterRecovered(ILogger logger, int failures);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "Spool at {Path} has no commit yet: nothing to recover, starting with an empty log")]
    public static partial void NothingToRecover(ILogger logger, string path);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Error, Message = "Spool shutdown: the final commit did not complete within {TimeoutMs} ms ({Reason}); messages not yet acknowledged are dropped, acknowledged ones are on disk")]
    public static partial void FinalCommitAbandoned(ILogger logger, double timeoutMs, string reason);
}
