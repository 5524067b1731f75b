using System.Globalization;
using System.Net;

namespace FastMta.Outbound.Dns;

/// <summary>How <see cref="DestinationResolver"/> queries DNS and how long it keeps answers.</summary>
public sealed class DnsOptions
{
    public const int DefaultDnsPort = 53;

    /// <summary>
    /// Recursive resolvers to ask, in order, as "ip:port" or "ip" (port 53); IPv6 as "[::1]:53" or "::1".
    /// Empty means the system's resolvers (resolv.conf). Names are not accepted: resolving the resolver would need DNS.
    /// </summary>
    public IReadOnlyList<string> Servers { get; set; } = [];

    /// <summary>Per query attempt, per server.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Further attempts after a timeout or network error, per server.</summary>
    public int Retries { get; set; } = 2;

    /// <summary>
    /// How long NXDOMAIN, null MX and "no address" answers are kept. Temporary failures are kept for this too, but never
    /// longer than <see cref="MaxTemporaryFailureCacheTime"/>, so that a resolver outage heals quickly.
    /// </summary>
    public TimeSpan NegativeCacheTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Domains cached at most; when full, expired entries go, then (if still full) all of them.</summary>
    public int MaxCacheEntries { get; set; } = 100_000;

    public static readonly TimeSpan MaxTemporaryFailureCacheTime = TimeSpan.FromSeconds(30);

    internal TimeSpan TemporaryFailureCacheTime =>
        NegativeCacheTime < MaxTemporaryFailureCacheTime ? NegativeCacheTime : MaxTemporaryFailureCacheTime;

    /// <summary>Throws <see cref="ArgumentException"/> or <see cref="FormatException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"DNS Timeout must be positive (got {Timeout}).", nameof(Timeout));
        }
        if (Retries < 0)
        {
            throw new ArgumentException($"DNS Retries must not be negative (got {Retries}).", nameof(Retries));
        }
        if (NegativeCacheTime < TimeSpan.Zero)
        {
            throw new ArgumentException($"DNS NegativeCacheTime must not be negative (got {NegativeCacheTime}).",
                nameof(NegativeCacheTime));
        }
        if (MaxCacheEntries < 1)
        {
            throw new ArgumentException($"DNS MaxCacheEntries must be at least 1 (got {MaxCacheEntries}).",
                nameof(MaxCacheEntries));
        }
        foreach (string server in Servers)
        {
            ParseServer(server);
        }
    }

    /// <summary>
    /// Parses a resolver address: "192.0.2.1", "192.0.2.1:5353", "::1", "[::1]" or "[::1]:5353". The port defaults to 53.
    /// Does not accept host names. Throws <see cref="FormatException"/> with the offending text.
    /// </summary>
    public static IPEndPoint ParseServer(string value) => ParseEndPoint(value, DefaultDnsPort, "DNS server");

    // Shared with routes, whose default port is 25. IPv6 with a port needs brackets, since "::1:53" is itself an address.
    internal static IPEndPoint ParseEndPoint(string value, int defaultPort, string what)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!TrySplitHostPort(value, defaultPort, out string host, out int port) ||
            !IPAddress.TryParse(host, out IPAddress? address))
        {
            throw new FormatException(
                $"Invalid {what} \"{value}\": expected \"ip\", \"ip:port\" or \"[ipv6]:port\" with a port from 1 to 65535.");
        }
        return new IPEndPoint(address, port);
    }

    /// <summary>
    /// Splits "host", "host:port", "[v6]" or "[v6]:port"; a bare string with more than one ':' is an IPv6 address
    /// without a port. Checks only the shape and the port range, not the host.
    /// </summary>
    internal static bool TrySplitHostPort(string value, int defaultPort, out string host, out int port)
    {
        host = "";
        port = defaultPort;
        string text = value.Trim();
        if (text.Length == 0)
        {
            return false;
        }
        string portText = "";
        if (text[0] == '[')
        {
            int close = text.IndexOf(']');
            if (close < 0)
            {
                return false;
            }
            host = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (rest[0] != ':')
                {
                    return false;
                }
                portText = rest[1..];
                if (portText.Length == 0)
                {
                    return false;
                }
            }
        }
        else
        {
            int first = text.IndexOf(':');
            if (first >= 0 && first == text.LastIndexOf(':'))
            {
                host = text[..first];
                portText = text[(first + 1)..];
                if (portText.Length == 0)
                {
                    return false;
                }
            }
            else
            {
                host = text;
            }
        }
        if (host.Length == 0)
        {
            return false;
        }
        if (portText.Length > 0 &&
            (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            return false;
        }
        return true;
    }
}
