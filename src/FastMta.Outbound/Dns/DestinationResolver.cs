using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using DnsClient;
using FastMta.Queue;
using Microsoft.Extensions.Logging;

namespace FastMta.Outbound.Dns;

/// <summary>
/// Resolves a recipient domain to the ordered hosts to try (RFC 5321 5.1): configured routes, address literals, MX
/// records with their A/AAAA addresses, the implicit MX, null MX (RFC 7505). DnsClient's own cache is off: answers are
/// cached here per domain, composed (MX plus addresses) and including negative answers, with expiry on the
/// <see cref="TimeProvider"/>. Concurrent callers for one domain share one lookup. Never throws for DNS problems.
/// </summary>
public sealed partial class DestinationResolver : IDestinationResolver, ISiteResolver
{
    public const int DefaultRoutePort = 25;

    private static readonly TimeSpan MinPositiveTtl = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxPositiveTtl = TimeSpan.FromDays(1);

    private readonly DnsOptions _options;
    private readonly LookupClient _client;
    private readonly Dictionary<string, Route> _routes;
    private readonly Route? _defaultRoute;
    private readonly int _deliveryPort;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Keys are normalized domains, or "route:host:port" for routes to a named host (so "*" shares one lookup).
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<Destination>>> _inFlight = new(StringComparer.Ordinal);

    /// <param name="routes">Domain (case-insensitive) or "*" to "host:port" (port 25 when omitted); host is an IP
    /// literal or a name resolved by A/AAAA. A route replaces the MX lookup. Throws <see cref="FormatException"/> for
    /// a malformed route.</param>
    /// <param name="deliveryPort">The port for MX hosts and address literals (25 in production).</param>
    public DestinationResolver(DnsOptions options, IReadOnlyDictionary<string, string> routes, int deliveryPort,
        TimeProvider timeProvider, ILogger<DestinationResolver> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentOutOfRangeException.ThrowIfLessThan(deliveryPort, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(deliveryPort, 65535);
        options.Validate();
        _options = options;
        _deliveryPort = deliveryPort;
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _client = new LookupClient(CreateLookupOptions(options));

        _routes = new Dictionary<string, Route>(StringComparer.Ordinal);
        foreach ((string domain, string value) in routes)
        {
            Route route = Route.Parse(domain, value);
            if (domain.Trim() == "*")
            {
                _defaultRoute = route;
            }
            else
            {
                _routes[NormalizeDomain(domain)] = route;
            }
        }
    }

    private static LookupClientOptions CreateLookupOptions(DnsOptions options)
    {
        NameServer[] servers = options.Servers.Select(s => new NameServer(DnsOptions.ParseServer(s))).ToArray();
        LookupClientOptions lookup = servers.Length == 0 ? new LookupClientOptions() : new LookupClientOptions(servers);
        lookup.UseCache = false;
        lookup.Timeout = options.Timeout;
        lookup.Retries = options.Retries;
        lookup.ThrowDnsErrors = false;
        // SERVFAIL/REFUSED from one server: ask the next. An empty (NODATA) answer is an answer, not a reason to
        // ask every server in turn.
        lookup.ContinueOnDnsError = true;
        lookup.ContinueOnEmptyResponse = false;
        lookup.UseTcpFallback = true;
        return lookup;
    }

    public ValueTask<Destination> ResolveAsync(string domain, CancellationToken cancellationToken)
    {
        if (TryAnswerWithoutLookup(domain, out Destination? answer, out string key, out Route? route))
        {
            return ValueTask.FromResult(answer);
        }

        // One shared lookup per key. Its task is not tied to any caller's token (DNS timeouts bound it); each caller
        // stops waiting on its own token.
        Lazy<Task<Destination>> lookup = _inFlight.GetOrAdd(key,
            static (k, state) => new Lazy<Task<Destination>>(() => state.Self.LookupAndCacheAsync(k, state.Route)),
            (Self: this, Route: route));
        Task<Destination> task = lookup.Value;
        return task.IsCompletedSuccessfully ? ValueTask.FromResult(task.Result) : new ValueTask<Destination>(task.WaitAsync(cancellationToken));
    }

    public bool TryResolveWithoutLookup(string domain, out Destination destination) =>
        TryAnswerWithoutLookup(domain, out destination!, out _, out _);

    // An empty domain, a fixed route, an address literal or a fresh cache entry answer at once; otherwise the key and
    // route to look up.
    private bool TryAnswerWithoutLookup(string domain, [NotNullWhen(true)] out Destination? answer, out string key, out Route? route)
    {
        ArgumentNullException.ThrowIfNull(domain);
        key = NormalizeDomain(domain);
        route = null;
        if (key.Length == 0)
        {
            answer = Permanent("5.1.2", "empty destination domain");
            return true;
        }

        route = key[0] == '[' ? _defaultRoute : _routes.GetValueOrDefault(key) ?? _defaultRoute;
        if (route is not null)
        {
            if (route.Fixed is not null)
            {
                answer = route.Fixed;
                return true;
            }
            key = route.CacheKey;
        }
        else if (key[0] == '[')
        {
            // RFC 5321 4.1.3 address literal: no DNS at all, so nothing to cache or count.
            answer = ResolveAddressLiteral(domain.Trim());
            return true;
        }

        long now = _time.GetUtcNow().UtcTicks;
        if (_cache.TryGetValue(key, out CacheEntry? entry) && entry.ExpiresAtTicks > now)
        {
            CacheHits.Add(1);
            answer = entry.Destination;
            return true;
        }

        answer = null;
        return false;
    }

    /// <summary>
    /// The site traffic shaping keys on: <see cref="Destination.Site"/> of the (cached) resolution, or the normalized
    /// domain itself when it does not resolve, so that a failing domain is still shaped on its own.
    /// </summary>
    public async ValueTask<string> GetSiteAsync(string domain, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(domain);
        Destination destination = await ResolveAsync(domain, cancellationToken);
        return destination.Status == ResolutionStatus.Resolved && destination.Site.Length > 0
            ? destination.Site
            : NormalizeDomain(domain);
    }

    private async Task<Destination> LookupAndCacheAsync(string key, Route? route)
    {
        long started = _time.GetTimestamp();
        try
        {
            // Leave the caller's stack (and GetOrAdd's Lazy) before doing any work.
            await Task.Yield();
            LookupResult result = route is null ? await LookupDomainAsync(key) : await LookupRouteAsync(route);
            Destination destination = result.Destination;
            string logName = route is null ? key : route.Value;
            switch (destination.Status)
            {
                case ResolutionStatus.Resolved:
                    Lookups.Add(1, new KeyValuePair<string, object?>("result", "resolved"));
                    DnsLog.Resolved(_logger, logName, destination.Hosts.Count, destination.Site, result.CacheFor);
                    break;
                case ResolutionStatus.TemporaryFailure:
                    Lookups.Add(1, new KeyValuePair<string, object?>("result", "temporary"));
                    DnsLog.TemporaryFailure(_logger, logName, destination.Detail);
                    break;
                default:
                    Lookups.Add(1, new KeyValuePair<string, object?>("result", "permanent"));
                    DnsLog.PermanentFailure(_logger, logName, destination.EnhancedStatus, destination.Detail);
                    break;
            }
            Store(key, destination, result.CacheFor);
            return destination;
        }
        finally
        {
            LookupDuration.Record(_time.GetElapsedTime(started).TotalSeconds);
            // Only this task's own entry can be here: a new one for the key is added only after this removal.
            _inFlight.TryRemove(key, out _);
        }
    }

    private void Store(string key, Destination destination, TimeSpan cacheFor)
    {
        if (cacheFor <= TimeSpan.Zero)
        {
            return;
        }
        long now = _time.GetUtcNow().UtcTicks;
        if (_cache.Count >= _options.MaxCacheEntries && !_cache.ContainsKey(key))
        {
            TrimCache(now);
        }
        _cache[key] = new CacheEntry(destination, now + cacheFor.Ticks);
    }

    // Bounded and simple: drop what has expired, and if that is not enough, everything. Runs only when full.
    private void TrimCache(long now)
    {
        int before = _cache.Count;
        foreach (KeyValuePair<string, CacheEntry> pair in _cache)
        {
            if (pair.Value.ExpiresAtTicks <= now)
            {
                _cache.TryRemove(pair);
            }
        }
        if (_cache.Count >= _options.MaxCacheEntries)
        {
            _cache.Clear();
        }
        DnsLog.CacheTrimmed(_logger, before, before - _cache.Count);
    }

    // Lower case, no trailing root dot; address literals keep their brackets.
    private static string NormalizeDomain(string domain) => domain.Trim().TrimEnd('.').ToLowerInvariant();

    private static Destination Permanent(string enhancedStatus, string detail) => new()
    {
        Status = ResolutionStatus.PermanentFailure,
        EnhancedStatus = enhancedStatus,
        Detail = detail,
    };

    private static Destination Temporary(string detail) => new()
    {
        Status = ResolutionStatus.TemporaryFailure,
        EnhancedStatus = "4.4.3",
        Detail = detail,
    };

    private static TimeSpan ClampPositiveTtl(TimeSpan ttl) =>
        ttl < MinPositiveTtl ? MinPositiveTtl : ttl > MaxPositiveTtl ? MaxPositiveTtl : ttl;

    private sealed record CacheEntry(Destination Destination, long ExpiresAtTicks);

    private readonly record struct LookupResult(Destination Destination, TimeSpan CacheFor);
}
