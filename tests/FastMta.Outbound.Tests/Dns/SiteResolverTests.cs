using System.Net;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using static FastMta.Outbound.Tests.TestSupport;

namespace FastMta.Outbound.Tests.Dns;

// DestinationResolver as traffic shaping's ISiteResolver, against a real DNS server on loopback.
public sealed class SiteResolverTests
{
    private static ISiteResolver Resolver(LoopbackDnsServer dns) => new DestinationResolver(
        new DnsOptions { Servers = [dns.ServerSpec], Timeout = TimeSpan.FromSeconds(2), Retries = 0 }, new Dictionary<string, string>(), 2525,
        new ManualTimeProvider(), NullLogger<DestinationResolver>.Instance, TestMeters.Create());

    private static async Task<string> SiteAsync(ISiteResolver resolver, string domain) =>
        await resolver.GetSiteAsync(domain, CancellationToken.None).AsTask().WaitAsync(TestTimeout);

    [Fact]
    public async Task AnMxDomainIsItsSortedMxSetAndIsCached()
    {
        await using var dns = new LoopbackDnsServer();
        foreach (string domain in new[] { "one.test", "two.test" })
        {
            dns.AddMx(domain, 20, "mx2.provider.test");
            dns.AddMx(domain, 10, "mx1.provider.test");
        }
        dns.AddA("mx1.provider.test", IPAddress.Parse("127.0.0.11"));
        dns.AddA("mx2.provider.test", IPAddress.Parse("127.0.0.12"));
        ISiteResolver resolver = Resolver(dns);

        Assert.Equal("mx1.provider.test,mx2.provider.test", await SiteAsync(resolver, "One.TEST"));
        Assert.Equal("mx1.provider.test,mx2.provider.test", await SiteAsync(resolver, "two.test"));
        Assert.Equal("mx1.provider.test,mx2.provider.test", await SiteAsync(resolver, "one.test"));
        Assert.Equal(1, dns.QueryCount("one.test", ARSoft.Tools.Net.Dns.RecordType.Mx));
    }

    [Fact]
    public async Task AnNxDomainIsItsOwnLowerCasedSite()
    {
        await using var dns = new LoopbackDnsServer();

        Assert.Equal("missing.test", await SiteAsync(Resolver(dns), "Missing.Test"));
    }

    [Fact]
    public async Task AServFailDomainIsItsOwnSite()
    {
        await using var dns = new LoopbackDnsServer();
        dns.AddServFail("broken.test");

        Assert.Equal("broken.test", await SiteAsync(Resolver(dns), "broken.test"));
    }
}
