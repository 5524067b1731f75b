using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

// Event ids 2900-2999 belong to the delivery log, clear of the rest of FastMta.Queue.
internal static partial class DeliveryLogMessages
{
    [LoggerMessage(EventId = 2900, Level = LogLevel.Information, Message = "Delivery log writing to {Path}")]
    public static partial void Opened(ILogger logger, string path);

    [LoggerMessage(EventId = 2901, Level = LogLevel.Warning, Message = "Delivery log queue full (capacity {Capacity}): dropped {Count} event(s) since the last report")]
    public static partial void EventsDropped(ILogger logger, long count, int capacity);

    [LoggerMessage(EventId = 2902, Level = LogLevel.Error, Message = "Writing the delivery log failed; {Events} event(s) lost ({Errors} failed write(s) since the last report)")]
    public static partial void WriteFailed(ILogger logger, Exception exception, int events, long errors);

    [LoggerMessage(EventId = 2903, Level = LogLevel.Error, Message = "Could not serialize a delivery event of message {MessageId}; skipped")]
    public static partial void SerializeFailed(ILogger logger, Exception exception, string messageId);
}
