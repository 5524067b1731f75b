using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using FastMta.Outbound.Dns;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using static FastMta.Outbound.Tests.TestSupport;
using Ars = ARSoft.Tools.Net.Dns;

namespace FastMta.Outbound.Tests.Dns;

// Every test talks to a real DNS server on loopback (LoopbackDnsServer) over UDP; nothing is mocked.
public sealed class DestinationResolverTests
{
    private const int DeliveryPort = 2525;
    private static readonly IPAddress Mx1 = IPAddress.Parse("127.0.0.11");
    private static readonly IPAddress Mx2 = IPAddress.Parse("127.0.0.12");
    private static readonly IPAddress Mx1V6 = IPAddress.Parse("fd00::11");

    private static DestinationResolver Resolver(LoopbackDnsServer dns, TimeProvider? time = null,
        Dictionary<string, string>? routes = null, Action<DnsOptions>? configure = null)
    {
        var options = new DnsOptions { Servers = [dns.ServerSpec], Timeout = TimeSpan.FromSeconds(2), Retries = 0 };
        configure?.Invoke(options);
        return new DestinationResolver(options, routes ?? [], DeliveryPort, time ?? new ManualTimeProvider(),
            NullLogger<DestinationResolver>.Instance, TestMeters.Create());
    }

    private static async Task<Destination> ResolveAsync(DestinationResolver resolver, string domain) =>
        await resolver.ResolveAsync(domain, CancellationToken.None).AsTask().WaitAsync(TestTimeout);

    private static void AddTwoMx(LoopbackDnsServer dns, string domain = "example.test", ushort pref1 = 10, ushort pref2 = 20,
        int ttl = 300)
    {
        dns.AddMx(domain, pref2, "mx2.example.test", ttl);
        dns.AddMx(domain, pref1, "mx1.example.test", ttl);
        dns.AddA("mx1.example.test", Mx1, ttl);
        dns.AddA("mx2.example.test", Mx2, ttl);
    }

    [Fact]
    public async Task MxHostsAreOrderedByAscendingPreference()
    {
        await using var dns = new LoopbackDnsServer();
        AddTwoMx(dns);

        Destination d = await ResolveAsync(Resolver(dns), "Example.TEST.");

        Assert.Equal(ResolutionStatus.Resolved, d.Status);
        Assert.Equal(
            [new DestinationHost("mx1.example.test", Mx1, DeliveryPort, 10), new DestinationHost("mx2.example.test", Mx2, DeliveryPort, 20)],
            d.Hosts);
        Assert.Equal("mx1.example.test,mx2.example.test", d.Site);
        Assert.Equal("", d.EnhancedStatus);
    }

    [Fact]
    public async Task EqualPreferencesComeInRandomOrder()
    {
        await using var dns = new LoopbackDnsServer();
        AddTwoMx(dns, pref1: 10, pref2: 10, ttl: 5);
        var time = new ManualTimeProvider();
        DestinationResolver resolver = Resolver(dns, time);

        var firsts = new HashSet<string>();
        for (int i = 0; i < 40 && firsts.Count < 2; i++)
        {
            Destination d = await ResolveAsync(resolver, "example.test");
            Assert.Equal(2, d.Hosts.Count);
            Assert.Equal("mx1.example.test,mx2.example.test", d.Site);
            firsts.Add(d.Hosts[0].Name);
            time.Advance(TimeSpan.FromSeconds(6));
        }

        Assert.Equal(["mx1.example.test", "mx2.example.test"], firsts.Order());
    }

    [Fact]
    public async Task DomainWithoutMxFallsBackToItsOwnAddresses()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddA("plain.test", Mx1);
        dns.AddAaaa("plain.test", Mx1V6);

        Destination d = await ResolveAsync(Resolver(dns), "plain.test");

        Assert.Equal(ResolutionStatus.Resolved, d.Status);
        Assert.Equal(
            [new DestinationHost("plain.test", Mx1, DeliveryPort, 0), new DestinationHost("plain.test", Mx1V6, DeliveryPort, 0)],
            d.Hosts);
        Assert.Equal("plain.test", d.Site);
        Assert.Equal(1, dns.QueryCount("plain.test", Ars.RecordType.Mx));
    }

    [Fact]
    public async Task DomainWithNeitherMxNorAddressFailsPermanently()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddTxt("nomail.test", "v=spf1 -all");

        Destination d = await ResolveAsync(Resolver(dns), "nomail.test");

        Assert.Equal(ResolutionStatus.PermanentFailure, d.Status);
        Assert.Equal("5.1.2", d.EnhancedStatus);
        Assert.Contains("no MX", d.Detail);
        Assert.Equal(1, dns.QueryCount("nomail.test", Ars.RecordType.A));
        Assert.Equal(1, dns.QueryCount("nomail.test", Ars.RecordType.Aaaa));
    }

    [Fact]
    public async Task AaaaAddressesFollowTheIpv4OnesOfTheSameHost()
    {
        await using var dns = new LoopbackDnsServer();
        AddTwoMx(dns);
        dns.AddAaaa("mx1.example.test", Mx1V6);

        Destination d = await ResolveAsync(Resolver(dns), "example.test");

        Assert.Equal([Mx1, Mx1V6, Mx2], d.Hosts.Select(h => h.Address));
        Assert.Equal(["mx1.example.test", "mx1.example.test", "mx2.example.test"], d.Hosts.Select(h => h.Name));
    }

    [Fact]
    public async Task AddressesInTheAdditionalSectionAreUsedWithoutQuerying()
    {
        await using var dns = new LoopbackDnsServer { IncludeAdditionalAddresses = true };
        AddTwoMx(dns);
        dns.AddAaaa("mx1.example.test", Mx1V6);

        Destination d = await ResolveAsync(Resolver(dns), "example.test");

        Assert.Equal([Mx1, Mx1V6, Mx2], d.Hosts.Select(h => h.Address));
        Assert.Equal(0, dns.QueryCount("mx1.example.test"));
        Assert.Equal(0, dns.QueryCount("mx2.example.test"));
    }

    [Fact]
    public async Task NullMxFailsPermanentlyWith5110()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddNullMx("nullmx.test");
        dns.AddA("nullmx.test", Mx1);

        Destination d = await ResolveAsync(Resolver(dns), "nullmx.test");

        Assert.Equal(ResolutionStatus.PermanentFailure, d.Status);
        Assert.Equal("5.1.10", d.EnhancedStatus);
        Assert.Contains("null MX", d.Detail);
        Assert.Empty(d.Hosts);
        Assert.Equal(0, dns.QueryCount("nullmx.test", Ars.RecordType.A));
    }

    [Fact]
    public async Task NxDomainFailsPermanentlyWith512()
    {
        await using var dns = new LoopbackDnsServer();

        Destination d = await ResolveAsync(Resolver(dns), "missing.test");

        Assert.Equal(ResolutionStatus.PermanentFailure, d.Status);
        Assert.Equal("5.1.2", d.EnhancedStatus);
        Assert.Contains("NXDOMAIN", d.Detail);
    }

    [Fact]
    public async Task ServFailIsTemporaryWith443()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddServFail("broken.test");

        Destination d = await ResolveAsync(Resolver(dns), "broken.test");

        Assert.Equal(ResolutionStatus.TemporaryFailure, d.Status);
        Assert.Equal("4.4.3", d.EnhancedStatus);
        Assert.Contains("ServerFailure", d.Detail);
    }

    [Fact]
    public async Task MxHostsThatDoNotExistFailPermanently()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddMx("dangling.test", 10, "gone1.dangling.test");
        dns.AddMx("dangling.test", 20, "gone2.dangling.test");

        Destination d = await ResolveAsync(Resolver(dns), "dangling.test");

        Assert.Equal(ResolutionStatus.PermanentFailure, d.Status);
        Assert.Equal("5.1.2", d.EnhancedStatus);
        Assert.Contains("do not resolve", d.Detail);
    }

    [Fact]
    public async Task MxHostsWhoseLookupFailsAreTemporary()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddMx("flaky.test", 10, "gone.flaky.test");
        dns.AddMx("flaky.test", 20, "broken.flaky.test");
        dns.AddServFail("broken.flaky.test");

        Destination d = await ResolveAsync(Resolver(dns), "flaky.test");

        Assert.Equal(ResolutionStatus.TemporaryFailure, d.Status);
        Assert.Equal("4.4.3", d.EnhancedStatus);
    }

    [Fact]
    public async Task AnMxHostWithoutAddressesIsSkipped()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddMx("partial.test", 10, "gone.partial.test");
        dns.AddMx("partial.test", 20, "mx2.example.test");
        dns.AddA("mx2.example.test", Mx2);

        Destination d = await ResolveAsync(Resolver(dns), "partial.test");

        Assert.Equal(ResolutionStatus.Resolved, d.Status);
        Assert.Equal([new DestinationHost("mx2.example.test", Mx2, DeliveryPort, 20)], d.Hosts);
        Assert.Equal("gone.partial.test,mx2.example.test", d.Site);
    }

    [Fact]
    public async Task ServerThatNeverAnswersIsTemporaryWithinTheTimeout()
    {
        // Bound but never read: queries vanish, so only the timeout ends them.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = new DnsOptions
        {
            Servers = [silent.LocalEndPoint!.ToString()!], Timeout = TimeSpan.FromMilliseconds(500), Retries = 0,
        };
        var resolver = new DestinationResolver(options, new Dictionary<string, string>(), DeliveryPort, new ManualTimeProvider(),
            NullLogger<DestinationResolver>.Instance, TestMeters.Create());

        long started = Stopwatch.GetTimestamp();
        Destination d = await resolver.ResolveAsync("example.test", CancellationToken.None).AsTask().WaitAsync(TestTimeout);

        Assert.Equal(ResolutionStatus.TemporaryFailure, d.Status);
        Assert.Equal("4.4.3", d.EnhancedStatus);
        Assert.NotEmpty(d.Detail);
        Assert.InRange(Stopwatch.GetElapsedTime(started), TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task UnusedPortIsTemporary()
    {
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var options = new DnsOptions { Servers = [$"127.0.0.1:{port}"], Timeout = TimeSpan.FromMilliseconds(500), Retries = 0 };
        var resolver = new DestinationResolver(options, new Dictionary<string, string>(), DeliveryPort, new ManualTimeProvider(),
            NullLogger<DestinationResolver>.Instance, TestMeters.Create());

        long started = Stopwatch.GetTimestamp();
        Destination d = await resolver.ResolveAsync("example.test", CancellationToken.None).AsTask().WaitAsync(TestTimeout);

        Assert.Equal(ResolutionStatus.TemporaryFailure, d.Status);
        Assert.Equal("4.4.3", d.EnhancedStatus);
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task AnswersAreCachedForTheSmallestTtlThenFetchedAgain()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddMx("example.test", 10, "mx1.example.test", ttl: 300);
        dns.AddA("mx1.example.test", Mx1, ttl: 60);
        var time = new ManualTimeProvider();
        DestinationResolver resolver = Resolver(dns, time);

        Destination first = await ResolveAsync(resolver, "example.test");
        time.Advance(TimeSpan.FromSeconds(59));
        Destination second = await ResolveAsync(resolver, "EXAMPLE.test");

        Assert.Same(first, second);
        Assert.Equal(1, dns.QueryCount("example.test", Ars.RecordType.Mx));
        Assert.Equal(1, dns.QueryCount("mx1.example.test", Ars.RecordType.A));

        time.Advance(TimeSpan.FromSeconds(2));
        Destination third = await ResolveAsync(resolver, "example.test");

        Assert.Equal(ResolutionStatus.Resolved, third.Status);
        Assert.Equal(2, dns.QueryCount("example.test", Ars.RecordType.Mx));
        Assert.Equal(2, dns.QueryCount("mx1.example.test", Ars.RecordType.A));
    }

    [Fact]
    public async Task NegativeAnswersAreCachedForTheNegativeCacheTime()
    {
        await using var dns = new LoopbackDnsServer();
        var time = new ManualTimeProvider();
        DestinationResolver resolver = Resolver(dns, time, configure: o => o.NegativeCacheTime = TimeSpan.FromMinutes(5));

        Assert.Equal(ResolutionStatus.PermanentFailure, (await ResolveAsync(resolver, "missing.test")).Status);
        dns.AddMx("missing.test", 10, "mx1.example.test");
        dns.AddA("mx1.example.test", Mx1);
        time.Advance(TimeSpan.FromMinutes(4));

        Assert.Equal(ResolutionStatus.PermanentFailure, (await ResolveAsync(resolver, "missing.test")).Status);
        Assert.Equal(1, dns.QueryCount("missing.test", Ars.RecordType.Mx));

        time.Advance(TimeSpan.FromMinutes(1.5));
        Assert.Equal(ResolutionStatus.Resolved, (await ResolveAsync(resolver, "missing.test")).Status);
        Assert.Equal(2, dns.QueryCount("missing.test", Ars.RecordType.Mx));
    }

    [Fact]
    public async Task TemporaryFailuresAreCachedForAtMostThirtySeconds()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddServFail("broken.test");
        var time = new ManualTimeProvider();
        DestinationResolver resolver = Resolver(dns, time, configure: o => o.NegativeCacheTime = TimeSpan.FromMinutes(5));

        Assert.Equal(ResolutionStatus.TemporaryFailure, (await ResolveAsync(resolver, "broken.test")).Status);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(ResolutionStatus.TemporaryFailure, (await ResolveAsync(resolver, "broken.test")).Status);
        int queries = dns.QueryCount("broken.test", Ars.RecordType.Mx);

        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(ResolutionStatus.TemporaryFailure, (await ResolveAsync(resolver, "broken.test")).Status);
        Assert.True(dns.QueryCount("broken.test", Ars.RecordType.Mx) > queries);
    }

    [Fact]
    public async Task CacheStaysBoundedAndKeepsAnswering()
    {
        await using var dns = new LoopbackDnsServer();
        for (int i = 0; i < 5; i++)
        {
            dns.AddA($"d{i}.test", Mx1);
        }
        DestinationResolver resolver = Resolver(dns, configure: o => o.MaxCacheEntries = 2);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(ResolutionStatus.Resolved, (await ResolveAsync(resolver, $"d{i}.test")).Status);
        }
        // d0 went when the cache filled up (nothing had expired, so it was cleared).
        await ResolveAsync(resolver, "d0.test");
        Assert.Equal(2, dns.QueryCount("d0.test", Ars.RecordType.Mx));
    }

    [Fact]
    public async Task ConcurrentResolutionsOfOneDomainShareOneQuery()
    {
        await using var dns = new LoopbackDnsServer { ResponseDelay = TimeSpan.FromMilliseconds(200) };
        AddTwoMx(dns);
        DestinationResolver resolver = Resolver(dns);

        Destination[] results = await Task.WhenAll(Enumerable.Range(0, 20)
            .Select(_ => Task.Run(() => resolver.ResolveAsync("example.test", CancellationToken.None).AsTask())))
            .WaitAsync(TestTimeout);

        Assert.All(results, d => Assert.Same(results[0], d));
        Assert.Equal(ResolutionStatus.Resolved, results[0].Status);
        Assert.Equal(1, dns.QueryCount("example.test", Ars.RecordType.Mx));
        Assert.Equal(1, dns.QueryCount("mx1.example.test", Ars.RecordType.A));
    }

    [Fact]
    public async Task ACallerCanStopWaitingWithoutCancellingTheSharedLookup()
    {
        await using var dns = new LoopbackDnsServer { ResponseDelay = TimeSpan.FromMilliseconds(300) };
        AddTwoMx(dns);
        DestinationResolver resolver = Resolver(dns);
        using var cts = new CancellationTokenSource();

        Task<Destination> cancelled = resolver.ResolveAsync("example.test", cts.Token).AsTask();
        Task<Destination> patient = resolver.ResolveAsync("example.test", CancellationToken.None).AsTask();
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(TestTimeout));
        Assert.Equal(ResolutionStatus.Resolved, (await patient.WaitAsync(TestTimeout)).Status);
        Assert.Equal(1, dns.QueryCount("example.test", Ars.RecordType.Mx));
    }

    [Fact]
    public async Task WildcardRouteToAnAddressSkipsDns()
    {
        await using var dns = new LoopbackDnsServer();
        AddTwoMx(dns);
        DestinationResolver resolver = Resolver(dns, routes: new() { ["*"] = "127.0.0.5:2526" });

        Destination d = await ResolveAsync(resolver, "example.test");

        Assert.Equal(ResolutionStatus.Resolved, d.Status);
        Assert.Equal([new DestinationHost("127.0.0.5", IPAddress.Parse("127.0.0.5"), 2526, 0)], d.Hosts);
        Assert.Equal("route:127.0.0.5:2526", d.Site);
        Assert.Equal(0, dns.QueryCount("example.test"));
    }

    [Fact]
    public async Task DomainRouteToANameIsResolvedByAddressAndBeatsTheWildcard()
    {
        await using var dns = new LoopbackDnsServer();
        AddTwoMx(dns);
        dns.AddA("relay.test", IPAddress.Parse("127.0.0.7"));
        dns.AddAaaa("relay.test", Mx1V6);
        DestinationResolver resolver = Resolver(dns, routes: new()
        {
            ["Routed.Test"] = "relay.test",
            ["*"] = "127.0.0.5:2526",
        });

        Destination d = await ResolveAsync(resolver, "routed.test");

        Assert.Equal(ResolutionStatus.Resolved, d.Status);
        Assert.Equal(
            [new DestinationHost("relay.test", IPAddress.Parse("127.0.0.7"), 25, 0), new DestinationHost("relay.test", Mx1V6, 25, 0)],
            d.Hosts);
        Assert.Equal("route:relay.test", d.Site);
        Assert.Equal(0, dns.QueryCount("routed.test"));
        Assert.Equal("route:127.0.0.5:2526", (await ResolveAsync(resolver, "example.test")).Site);
    }

    [Fact]
    public async Task DomainRouteLeavesOtherDomainsOnMx()
    {
        await using var dns = new LoopbackDnsServer();
        AddTwoMx(dns);
        dns.AddA("relay.test", IPAddress.Parse("127.0.0.7"));
        DestinationResolver resolver = Resolver(dns, routes: new() { ["routed.test"] = "relay.test:2600" });

        Destination routed = await ResolveAsync(resolver, "routed.test");
        Destination mx = await ResolveAsync(resolver, "example.test");

        Assert.Equal(2600, Assert.Single(routed.Hosts).Port);
        Assert.Equal("mx1.example.test,mx2.example.test", mx.Site);
    }

    [Fact]
    public async Task RouteToANameThatDoesNotResolveFails()
    {
        await using var dns = new LoopbackDnsServer();
        DestinationResolver resolver = Resolver(dns, routes: new() { ["*"] = "nowhere.test:2600" });

        Destination d = await ResolveAsync(resolver, "example.test");

        Assert.Equal(ResolutionStatus.PermanentFailure, d.Status);
        Assert.Equal("5.1.2", d.EnhancedStatus);
    }

    [Theory]
    [InlineData("example.test", "")]
    [InlineData("example.test", "relay.test:0")]
    [InlineData("example.test", "relay.test:99999")]
    [InlineData("example.test", "relay test")]
    [InlineData("example.test", "[::1")]
    [InlineData("", "relay.test")]
    public void MalformedRoutesAreRejected(string domain, string route)
    {
        Assert.Throws<FormatException>(() => new DestinationResolver(new DnsOptions(),
            new Dictionary<string, string> { [domain] = route }, DeliveryPort, TimeProvider.System,
            NullLogger<DestinationResolver>.Instance, TestMeters.Create()));
    }

    [Theory]
    [InlineData("[127.0.0.1]", "127.0.0.1")]
    [InlineData("[IPv6:::1]", "::1")]
    [InlineData("[ipv6:2001:db8::5]", "2001:db8::5")]
    public async Task AddressLiteralsNeedNoDns(string literal, string address)
    {
        await using var dns = new LoopbackDnsServer();

        Destination d = await ResolveAsync(Resolver(dns), literal);

        Assert.Equal(ResolutionStatus.Resolved, d.Status);
        Assert.Equal([new DestinationHost(literal, IPAddress.Parse(address), DeliveryPort, 0)], d.Hosts);
        Assert.Equal(literal, d.Site);
    }

    [Theory]
    [InlineData("[300.1.1.1]")]
    [InlineData("[127.1]")]
    [InlineData("[::1]")]
    [InlineData("[IPv6:127.0.0.1]")]
    [InlineData("[x400:foo]")]
    [InlineData("[127.0.0.1")]
    public async Task BadAddressLiteralsFailPermanently(string literal)
    {
        await using var dns = new LoopbackDnsServer();

        Destination d = await ResolveAsync(Resolver(dns), literal);

        Assert.Equal(ResolutionStatus.PermanentFailure, d.Status);
        Assert.Equal("5.1.2", d.EnhancedStatus);
    }

    [Fact]
    public async Task LookupsCacheHitsAndDurationsAreMeasured()
    {
        await using var dns = new LoopbackDnsServer();
        AddTwoMx(dns);
        dns.AddServFail("broken.test");
        var measurements = new ConcurrentQueue<(string Instrument, string? Result)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == DestinationResolver.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => measurements.Enqueue((instrument.Name, ResultTag(tags))));
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => measurements.Enqueue((instrument.Name, ResultTag(tags))));
        listener.Start();
        DestinationResolver resolver = Resolver(dns);

        await ResolveAsync(resolver, "example.test");
        await ResolveAsync(resolver, "example.test");
        await ResolveAsync(resolver, "missing.test");
        await ResolveAsync(resolver, "broken.test");

        // Other tests may run resolvers at the same time, so these are lower bounds.
        Assert.True(measurements.Count(m => m == ("fastmta.dns.lookups", "resolved")) >= 1);
        Assert.True(measurements.Count(m => m == ("fastmta.dns.lookups", "permanent")) >= 1);
        Assert.True(measurements.Count(m => m == ("fastmta.dns.lookups", "temporary")) >= 1);
        Assert.True(measurements.Count(m => m.Instrument == "fastmta.dns.cache.hits") >= 1);
        Assert.True(measurements.Count(m => m.Instrument == "fastmta.dns.lookup.duration") >= 3);
    }

    private static string? ResultTag(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            if (tag.Key == "result")
            {
                return tag.Value as string;
            }
        }
        return null;
    }

    [Fact]
    public async Task LoopbackServerAnswersOverTcpToo()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddA("tcp.test", Mx1);
        var client = new DnsClient.LookupClient(new DnsClient.LookupClientOptions(dns.EndPoint)
        {
            UseCache = false, UseTcpOnly = true, Timeout = TimeSpan.FromSeconds(2), Retries = 0,
        });

        DnsClient.IDnsQueryResponse response = await client.QueryAsync("tcp.test", DnsClient.QueryType.A).WaitAsync(TestTimeout);

        Assert.Equal(Mx1, Assert.Single(response.Answers.ARecords()).Address);
        Assert.Equal(1, dns.QueryCount("tcp.test", Ars.RecordType.A));
    }
}
