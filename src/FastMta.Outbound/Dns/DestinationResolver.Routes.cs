using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace FastMta.Outbound.Dns;

// Destinations that need no MX lookup: configured routes and RFC 5321 4.1.3 address literals.
public sealed partial class DestinationResolver
{
    /// <summary>
    /// "[192.0.2.1]" or "[IPv6:2001:db8::1]": that address on the delivery port. General address literals
    /// ("[tag:...]") and malformed ones fail permanently; there is nothing to retry.
    /// </summary>
    private Destination ResolveAddressLiteral(string literal)
    {
        if (literal.Length < 3 || literal[^1] != ']')
        {
            return Permanent("5.1.2", $"invalid address literal {literal}");
        }
        string inner = literal[1..^1];
        IPAddress? address = null;
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
        {
            if (!IPAddress.TryParse(inner.AsSpan(5), out address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                address = null;
            }
        }
        else if (inner.Count(c => c == '.') != 3 || !IPAddress.TryParse(inner, out address) ||
            address.AddressFamily != AddressFamily.InterNetwork)
        {
            // IPAddress.TryParse also takes "1" or "1.2" as IPv4; RFC 5321's IPv4-address-literal is a dotted quad.
            address = null;
        }
        if (address is null)
        {
            return Permanent("5.1.2", $"invalid or unsupported address literal {literal}");
        }
        return new Destination
        {
            Status = ResolutionStatus.Resolved,
            Hosts = [new DestinationHost(literal, address, _deliveryPort, 0)],
            Site = literal,
        };
    }

    /// <summary>A configured next hop. An IP host gives a fixed destination; a named one is looked up (A/AAAA).</summary>
    private sealed class Route
    {
        private Route(string value, string host, int port, Destination? fixedDestination)
        {
            Value = value;
            Host = host;
            Port = port;
            Fixed = fixedDestination;
        }

        public string Value { get; }

        public string Host { get; }

        public int Port { get; }

        private const string SitePrefix = "route:";

        public string Site => SitePrefix + Value;

        // Routes to the same host:port share one cache entry, whichever domains use them.
        public string CacheKey => SitePrefix + Host + ":" + Port.ToString(CultureInfo.InvariantCulture);

        public Destination? Fixed { get; }

        public static Route Parse(string domain, string value)
        {
            ArgumentNullException.ThrowIfNull(value);
            string text = value.Trim();
            if (string.IsNullOrWhiteSpace(domain) ||
                !DnsOptions.TrySplitHostPort(text, DefaultRoutePort, out string host, out int port) ||
                host.Any(c => char.IsWhiteSpace(c) || c is '[' or ']' or '/' or '@'))
            {
                throw new FormatException(
                    $"Invalid route \"{domain}\" = \"{value}\": expected \"host\", \"host:port\" or \"[ipv6]:port\" with a port from 1 to 65535.");
            }
            if (IPAddress.TryParse(host, out IPAddress? address))
            {
                return new Route(text, host, port, new Destination
                {
                    Status = ResolutionStatus.Resolved,
                    Hosts = [new DestinationHost(host, address, port, 0)],
                    Site = SitePrefix + text,
                });
            }
            return new Route(text, host.TrimEnd('.').ToLowerInvariant(), port, null);
        }
    }
}
