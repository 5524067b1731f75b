using Microsoft.Extensions.Logging;

namespace FastMta.Outbound.Dns;

// Source-generated log messages for destination resolution (event ids 4800-4819). Logged once per DNS lookup, not
// per cache hit, so a failing domain does not flood the log while its negative answer is cached.
internal static partial class DnsLog
{
    [LoggerMessage(4800, LogLevel.Warning, "DNS lookup for {Domain} failed temporarily (4.4.3): {Reason}")]
    public static partial void TemporaryFailure(ILogger logger, string domain, string reason);

    [LoggerMessage(4801, LogLevel.Information, "DNS lookup for {Domain} failed permanently ({EnhancedStatus}): {Reason}")]
    public static partial void PermanentFailure(ILogger logger, string domain, string enhancedStatus, string reason);

    [LoggerMessage(4802, LogLevel.Debug, "Resolved {Domain} to {Hosts} address(es) at site {Site}, cached for {Ttl}")]
    public static partial void Resolved(ILogger logger, string domain, int hosts, string site, TimeSpan ttl);

    [LoggerMessage(4803, LogLevel.Debug, "DNS cache full ({Entries} entries); dropped {Dropped}")]
    public static partial void CacheTrimmed(ILogger logger, int entries, int dropped);
}
