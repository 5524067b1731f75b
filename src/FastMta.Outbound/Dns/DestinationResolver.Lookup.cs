using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;

namespace FastMta.Outbound.Dns;

// The DNS side: MX, then each exchange's addresses, or the implicit MX (RFC 5321 5.1).
public sealed partial class DestinationResolver
{
    // More exchanges than this are not tried (the lowest preferences win); bounds the address queries per domain.
    private const int MaxMxHosts = 16;

    private async Task<LookupResult> LookupDomainAsync(string domain)
    {
        QueryOutcome mx = await QueryAsync(domain, QueryType.MX);
        switch (mx.Status)
        {
            case QueryStatus.Temporary:
                return TemporaryResult($"MX lookup for {domain} failed: {mx.Error}");
            case QueryStatus.NxDomain:
                return PermanentResult("5.1.2", $"domain {domain} does not exist (NXDOMAIN)");
            case QueryStatus.BadName:
                return PermanentResult("5.1.2", $"invalid domain name {domain}: {mx.Error}");
        }

        List<MxRecord> records = mx.Response!.Answers.MxRecords().ToList();
        if (records.Count == 0)
        {
            return await LookupImplicitMxAsync(domain);
        }
        // RFC 7505 3: a null MX is the only MX of its domain; a "." mixed in with real exchanges is ignored.
        List<MxRecord> exchanges = records.Where(r => !IsRoot(r.Exchange)).ToList();
        if (exchanges.Count == 0)
        {
            return PermanentResult("5.1.10", $"domain {domain} does not accept mail (null MX)");
        }

        TimeSpan ttl = TimeSpan.FromSeconds(exchanges.Min(r => r.InitialTimeToLive));
        MxRecord[] ordered = OrderByPreference(exchanges);
        string site = string.Join(',', ordered.Select(r => HostName(r.Exchange)).Distinct().Order(StringComparer.Ordinal));

        string[] names = ordered.Select(r => HostName(r.Exchange)).Distinct().Take(MaxMxHosts).ToArray();
        HostAddresses[] resolved = await Task.WhenAll(names.Select(n => ResolveHostAsync(n, mx.Response.Additionals)));

        var hosts = new List<DestinationHost>();
        bool temporary = false;
        string? error = null;
        for (int i = 0; i < names.Length; i++)
        {
            HostAddresses addresses = resolved[i];
            if (addresses.Error is not null)
            {
                temporary = true;
                error ??= addresses.Error;
            }
            if (addresses.Addresses.Count == 0)
            {
                continue;
            }
            int preference = ordered.First(r => HostName(r.Exchange) == names[i]).Preference;
            foreach (IPAddress address in addresses.Addresses)
            {
                hosts.Add(new DestinationHost(names[i], address, _deliveryPort, preference));
            }
            ttl = Min(ttl, addresses.Ttl);
        }

        if (hosts.Count == 0)
        {
            return temporary
                ? TemporaryResult($"MX hosts of {domain} could not be resolved: {error}")
                : PermanentResult("5.1.2", $"MX hosts of {domain} do not resolve ({string.Join(", ", names)})");
        }
        return Resolved(hosts, site, ttl, temporary);
    }

    // RFC 5321 5.1: no MX records, so the domain itself is the one exchange, with preference 0.
    private async Task<LookupResult> LookupImplicitMxAsync(string domain)
    {
        HostAddresses addresses = await ResolveHostAsync(domain, []);
        if (addresses.Addresses.Count == 0)
        {
            return addresses.Error is not null
                ? TemporaryResult($"address lookup for {domain} (no MX) failed: {addresses.Error}")
                : PermanentResult("5.1.2", $"domain {domain} has no MX and no A/AAAA records");
        }
        var hosts = addresses.Addresses.Select(a => new DestinationHost(domain, a, _deliveryPort, 0)).ToList();
        return Resolved(hosts, domain, addresses.Ttl, addresses.Error is not null);
    }

    private async Task<LookupResult> LookupRouteAsync(Route route)
    {
        HostAddresses addresses = await ResolveHostAsync(route.Host, []);
        if (addresses.Addresses.Count == 0)
        {
            return addresses.Error is not null
                ? TemporaryResult($"route host {route.Host} could not be resolved: {addresses.Error}")
                : PermanentResult("5.1.2", $"route host {route.Host} does not resolve");
        }
        var hosts = addresses.Addresses.Select(a => new DestinationHost(route.Host, a, route.Port, 0)).ToList();
        return Resolved(hosts, route.Site, addresses.Ttl, addresses.Error is not null);
    }

    // A partial answer (one query failed temporarily) is usable now but kept only briefly, so the rest is retried soon.
    private LookupResult Resolved(List<DestinationHost> hosts, string site, TimeSpan ttl, bool partial)
    {
        TimeSpan cacheFor = ClampPositiveTtl(ttl);
        if (partial)
        {
            cacheFor = Min(cacheFor, _options.TemporaryFailureCacheTime);
        }
        return new LookupResult(new Destination { Status = ResolutionStatus.Resolved, Hosts = hosts, Site = site }, cacheFor);
    }

    private LookupResult TemporaryResult(string detail) => new(Temporary(detail), _options.TemporaryFailureCacheTime);

    private LookupResult PermanentResult(string enhancedStatus, string detail) =>
        new(Permanent(enhancedStatus, detail), _options.NegativeCacheTime);

    // Ascending preference; equal preferences in random order (RFC 5321 5.1 "SHOULD" spread the load).
    private static MxRecord[] OrderByPreference(List<MxRecord> records)
    {
        MxRecord[] ordered = records.OrderBy(r => r.Preference).ToArray();
        int start = 0;
        while (start < ordered.Length)
        {
            int end = start + 1;
            while (end < ordered.Length && ordered[end].Preference == ordered[start].Preference)
            {
                end++;
            }
            if (end - start > 1)
            {
                Random.Shared.Shuffle(ordered.AsSpan(start, end - start));
            }
            start = end;
        }
        return ordered;
    }

    /// <summary>
    /// IPv4 then IPv6 addresses of a host. Uses the MX answer's additional section when it carries any address of the
    /// host (servers include both families or neither in practice), otherwise queries A and AAAA in parallel.
    /// NXDOMAIN and NODATA give no addresses and no error; a temporary failure of either query sets Error.
    /// </summary>
    private async Task<HostAddresses> ResolveHostAsync(string name, IReadOnlyList<DnsResourceRecord> additionals)
    {
        List<AddressRecord> glue = additionals.OfType<AddressRecord>().Where(r => HostName(r.DomainName) == name).ToList();
        if (glue.Count > 0)
        {
            return Collect(glue, null);
        }

        Task<QueryOutcome> a = QueryAsync(name, QueryType.A);
        Task<QueryOutcome> aaaa = QueryAsync(name, QueryType.AAAA);
        QueryOutcome[] outcomes = await Task.WhenAll(a, aaaa);
        var records = new List<AddressRecord>();
        string? error = null;
        foreach (QueryOutcome outcome in outcomes)
        {
            if (outcome.Status == QueryStatus.Answer)
            {
                records.AddRange(outcome.Response!.Answers.OfType<AddressRecord>());
            }
            else if (outcome.Status == QueryStatus.Temporary)
            {
                error ??= outcome.Error;
            }
        }
        return Collect(records, error);
    }

    private static HostAddresses Collect(List<AddressRecord> records, string? error)
    {
        IPAddress[] addresses = records.OfType<ARecord>().Select(r => r.Address)
            .Concat(records.OfType<AaaaRecord>().Select(r => r.Address))
            .Distinct()
            .ToArray();
        TimeSpan ttl = records.Count == 0 ? MaxPositiveTtl : TimeSpan.FromSeconds(records.Min(r => r.InitialTimeToLive));
        return new HostAddresses(addresses, ttl, error);
    }

    // Classifies one query. DnsClient throws for timeouts and network errors even with ThrowDnsErrors off.
    private async Task<QueryOutcome> QueryAsync(string name, QueryType type)
    {
        try
        {
            IDnsQueryResponse response = await _client.QueryAsync(name, type, QueryClass.IN, CancellationToken.None);
            return response.Header.ResponseCode switch
            {
                DnsHeaderResponseCode.NoError => new QueryOutcome(QueryStatus.Answer, response, null),
                DnsHeaderResponseCode.NotExistentDomain => new QueryOutcome(QueryStatus.NxDomain, response, null),
                _ => new QueryOutcome(QueryStatus.Temporary, null,
                    $"{type} {name}: {response.Header.ResponseCode} from {response.NameServer}"),
            };
        }
        catch (DnsResponseException e)
        {
            return new QueryOutcome(QueryStatus.Temporary, null, $"{type} {name}: {e.Code}: {e.Message}");
        }
        catch (SocketException e)
        {
            return new QueryOutcome(QueryStatus.Temporary, null, $"{type} {name}: {e.SocketErrorCode}: {e.Message}");
        }
        catch (TimeoutException e)
        {
            return new QueryOutcome(QueryStatus.Temporary, null, $"{type} {name}: timeout: {e.Message}");
        }
        catch (OperationCanceledException e)
        {
            // No token is passed, so this is DnsClient's own timeout surfacing as a cancellation.
            return new QueryOutcome(QueryStatus.Temporary, null, $"{type} {name}: timeout: {e.Message}");
        }
        catch (ArgumentException e)
        {
            // DnsString.Parse rejects the name (empty label, label over 63 octets, name over 255).
            return new QueryOutcome(QueryStatus.BadName, null, e.Message);
        }
    }

    private static bool IsRoot(DnsString name) => name.Value is "." or "";

    // Lower case, no trailing dot: the form DestinationHost.Name and the site use.
    private static string HostName(DnsString name) => name.Value.TrimEnd('.').ToLowerInvariant();

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private enum QueryStatus
    {
        Answer,
        NxDomain,
        BadName,
        Temporary,
    }

    private readonly record struct QueryOutcome(QueryStatus Status, IDnsQueryResponse? Response, string? Error);

    private readonly record struct HostAddresses(IReadOnlyList<IPAddress> Addresses, TimeSpan Ttl, string? Error);
}
