using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

// Event ids 2000-2999 belong to FastMta.Queue (2900-2999: the delivery log, DeliveryLogMessages); the ranges of every
// project: README, Monitoring, "Event ids".
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Queue rebuilt from the spool in {ElapsedMs:F0} ms: {Messages} live message(s), {Recipients} recipient(s) to deliver, {Finished} finished message(s) skipped")]
    public static partial void Rebuilt(ILogger logger, double elapsedMs, int messages, int recipients, int finished);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Reading the body of message {MessageId} from the spool failed; its recipients are deferred")]
    public static partial void BodyReadFailed(ILogger logger, string messageId, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Recording outcomes of message {MessageId} in the spool failed; the recipients stay queued and may be delivered again")]
    public static partial void StateWriteFailed(ILogger logger, string messageId, Exception exception);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "The delivery agent threw for message {MessageId} to {Domain} (a bug: agents report failures as results); recipients deferred")]
    public static partial void AgentFailed(ILogger logger, string messageId, string domain, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Spooling the DSN for message {MessageId} to {Sender} failed; the failure is still in the delivery log")]
    public static partial void BounceFailed(ILogger logger, string messageId, string sender, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Copying message {MessageId} forward in the spool failed; space before it is not reclaimed until a later try succeeds")]
    public static partial void CopyForwardFailed(ILogger logger, string messageId, Exception exception);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Error, Message = "Spool truncation failed")]
    public static partial void TruncateFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Queue stopping: waiting up to {GraceSeconds:F0} s for {InFlight} delivery attempt(s) in flight")]
    public static partial void Stopping(ILogger logger, double graceSeconds, int inFlight);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Critical, Message = "The {Loop} loop failed ({Consecutive} time(s) in a row); it is restarted in {BackoffSeconds:0.#} s and /health reports it until it makes progress")]
    public static partial void LoopFailed(ILogger logger, string loop, int consecutive, double backoffSeconds, Exception exception);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Critical, Message = "The {Loop} loop failed while stopping; it is not restarted")]
    public static partial void LoopFailedWhileStopping(ILogger logger, string loop, Exception exception);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "The {Loop} loop is working again after {Consecutive} failure(s)")]
    public static partial void LoopRecovered(ILogger logger, string loop, int consecutive);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Bounced message {MessageId}: DSN {DsnId} for {Count} recipient(s) queued to {Sender}")]
    public static partial void Bounced(ILogger logger, string messageId, string dsnId, int count, string sender);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error, Message = "Resolving the site of {Domain} for traffic shaping failed; shaping it by its domain")]
    public static partial void SiteResolutionFailed(ILogger logger, string domain, Exception exception);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Message {MessageId} asked for egress pool {Pool}, which is no longer configured; it is sent from pool {Fallback}")]
    public static partial void UnknownPool(ILogger logger, string messageId, string pool, string fallback);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Error, Message = "Attempt observer {Observer} threw for message {MessageId} (a bug: observers must not throw); delivery goes on")]
    public static partial void ObserverFailed(ILogger logger, string observer, string messageId, Exception exception);
}
