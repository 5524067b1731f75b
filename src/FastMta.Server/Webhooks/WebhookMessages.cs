namespace FastMta.Server.Webhooks;

// Event ids 6100-6199 belong to the event webhooks. Never log the URL or the Authorization value: the name says which.
internal static partial class WebhookMessages
{
    [LoggerMessage(EventId = 6100, Level = LogLevel.Information, Message = "Webhook {Name}: posting delivery events (batches of up to {BatchSize}, queue of {MaxQueue})")]
    public static partial void Started(ILogger logger, string name, int batchSize, int maxQueue);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Webhook {Name}: queue full ({MaxQueue} events), dropped {Count} event(s) since the last report")]
    public static partial void QueueFull(ILogger logger, string name, int maxQueue, long count);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Webhook {Name}: POST failed ({Reason}), retrying in {DelayMs:F0} ms ({Count} failure(s) since the last report)")]
    public static partial void Retrying(ILogger logger, string name, string reason, double delayMs, long count);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Error, Message = "Webhook {Name}: receiver rejected a batch with HTTP {Status}; {Events} event(s) dropped, not retried ({Count} rejection(s) since the last report)")]
    public static partial void Rejected(ILogger logger, string name, int status, int events, long count);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "Webhook {Name}: {Events} queued event(s) dropped at shutdown")]
    public static partial void DroppedAtShutdown(ILogger logger, string name, long events);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Error, Message = "Webhook {Name}: could not serialize a delivery event of message {MessageId}; skipped")]
    public static partial void SerializeFailed(ILogger logger, Exception exception, string name, string messageId);
}
