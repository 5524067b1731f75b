using System.Net;
using Microsoft.Extensions.Logging;

namespace FastMta.Outbound;

// Source-generated log messages: structured, no formatting cost when the level is off. Never logs message content.
// Event ids 4000-4999 belong to FastMta.Outbound (4800-4899: destination resolution, DnsLog); the ranges of every
// project: README, Monitoring, "Event ids".
internal static partial class Log
{
    [LoggerMessage(4001, LogLevel.Debug, "Connected to {Host} [{Address}] from {Source}: {Greeting}")]
    public static partial void Connected(ILogger logger, string host, IPEndPoint address, EndPoint? source, string greeting);

    [LoggerMessage(4002, LogLevel.Information, "Connection to {Host} [{Address}] failed ({Reason}): {Detail}")]
    public static partial void ConnectionFailed(ILogger logger, string host, IPEndPoint address, string reason, string detail);

    [LoggerMessage(4003, LogLevel.Debug, "TLS established with {Host} [{Address}]: {Protocol} {Cipher}")]
    public static partial void TlsEstablished(ILogger logger, string host, IPEndPoint address, string protocol, string cipher);

    [LoggerMessage(4004, LogLevel.Information, "Delivery of {MessageId} to {Host} [{Address}]: {Delivered} delivered, {Deferred} deferred, {Failed} failed; last reply {Reply}")]
    public static partial void Transaction(ILogger logger, string messageId, string host, string address, int delivered, int deferred,
        int failed, string reply);

    [LoggerMessage(4005, LogLevel.Information, "No host for {Domain} accepted a connection; deferring {Recipients} recipient(s): {Detail}")]
    public static partial void AllHostsFailed(ILogger logger, string domain, int recipients, string detail);

    [LoggerMessage(4006, LogLevel.Information, "Destination {Domain} did not resolve ({Status}): {Detail}")]
    public static partial void ResolutionFailed(ILogger logger, string domain, string status, string detail);

    [LoggerMessage(4007, LogLevel.Debug, "Closing connection to {Host} [{Address}]: {Why}")]
    public static partial void Closing(ILogger logger, string host, IPEndPoint address, string why);

    [LoggerMessage(4008, LogLevel.Warning, "Body of {MessageId} to {Host} [{Address}] had {Count} bare CR or LF; each was sent over DATA as CRLF")]
    public static partial void BareLineEndsRewritten(ILogger logger, string messageId, string host, IPEndPoint address, int count);
}
