using System.Diagnostics.Metrics;

namespace FastMta.Outbound.Dns;

// The resolver's instruments. Tags come from a fixed set; never a domain or a host. Exported as
// fastmta_dns_lookups_total, fastmta_dns_cache_hits_total and fastmta_dns_lookup_duration_seconds.
public sealed partial class DestinationResolver
{
    public const string MeterName = "FastMta.Dns";

    private sealed class ResolverMetrics
    {
        private static readonly double[] LookupSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

        public ResolverMetrics(IMeterFactory meters)
        {
            Meter meter = meters.Create(MeterName);
            Lookups = meter.CreateCounter<long>("fastmta.dns.lookups", "{lookup}",
                description: "Destination lookups that went to DNS (cache misses), by result (resolved, temporary, permanent). " +
                    "A rise in temporary usually means the configured resolvers are failing or slow.");
            CacheHits = meter.CreateCounter<long>("fastmta.dns.cache.hits", "{lookup}",
                description: "Destination lookups answered from the resolver's cache, including cached failures.");
            LookupDuration = meter.CreateHistogram("fastmta.dns.lookup.duration", "s",
                "Time of one destination lookup in DNS: MX plus the exchanges' A/AAAA, or the route host's.",
                tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = LookupSeconds });
        }

        public Counter<long> Lookups { get; }

        public Counter<long> CacheHits { get; }

        public Histogram<double> LookupDuration { get; }
    }
}
