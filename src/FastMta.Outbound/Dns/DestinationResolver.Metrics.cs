using System.Diagnostics.Metrics;

namespace FastMta.Outbound.Dns;

// The resolver's instruments, all in this one part so the Meter is initialized before them. Tags come from a fixed
// set; never a domain or a host.
public sealed partial class DestinationResolver
{
    public const string MeterName = "FastMta.Dns";
    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Lookups = Meter.CreateCounter<long>("fastmta.dns.lookups",
        description: "Destination lookups that went to DNS (cache misses), by result (resolved, temporary, permanent). " +
            "A rise in temporary usually means the configured resolvers are failing or slow.");
    private static readonly Counter<long> CacheHits = Meter.CreateCounter<long>("fastmta.dns.cache.hits",
        description: "Destination lookups answered from the resolver's cache, including cached failures.");
    private static readonly Histogram<double> LookupDuration = Meter.CreateHistogram<double>("fastmta.dns.lookup.duration",
        unit: "s", description: "Time of one destination lookup in DNS: MX plus the exchanges' A/AAAA, or the route host's.");
}
