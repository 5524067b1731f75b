using System.Net;
using FastMta.Outbound.Dns;

namespace FastMta.Outbound.Tests.Dns;

public sealed class DnsOptionsTests
{
    [Theory]
    [InlineData("192.0.2.1", "192.0.2.1", 53)]
    [InlineData("192.0.2.1:5353", "192.0.2.1", 5353)]
    [InlineData(" 127.0.0.1:53 ", "127.0.0.1", 53)]
    [InlineData("::1", "::1", 53)]
    [InlineData("2001:db8::1", "2001:db8::1", 53)]
    [InlineData("[::1]", "::1", 53)]
    [InlineData("[::1]:5353", "::1", 5353)]
    public void ParseServerAcceptsIpWithOptionalPort(string text, string address, int port)
    {
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), DnsOptions.ParseServer(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("dns.example.test")]
    [InlineData("dns.example.test:53")]
    [InlineData("192.0.2.1:")]
    [InlineData("192.0.2.1:0")]
    [InlineData("192.0.2.1:65536")]
    [InlineData("192.0.2.1:dns")]
    [InlineData("[::1]53")]
    [InlineData("[::1")]
    [InlineData("[]:53")]
    public void ParseServerRejectsAnythingElseNamingTheValue(string text)
    {
        FormatException e = Assert.Throws<FormatException>(() => DnsOptions.ParseServer(text));
        Assert.Contains($"\"{text}\"", e.Message);
    }

    [Fact]
    public void DefaultsMatchTheDocumentedValues()
    {
        var options = new DnsOptions();

        Assert.Empty(options.Servers);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Timeout);
        Assert.Equal(2, options.Retries);
        Assert.Equal(TimeSpan.FromMinutes(5), options.NegativeCacheTime);
        Assert.Equal(100_000, options.MaxCacheEntries);
        options.Validate();
    }

    [Fact]
    public void ValidateRejectsBadSettings()
    {
        Assert.Throws<FormatException>(() => new DnsOptions { Servers = ["not-an-ip"] }.Validate());
        Assert.Throws<ArgumentException>(() => new DnsOptions { Timeout = TimeSpan.Zero }.Validate());
        Assert.Throws<ArgumentException>(() => new DnsOptions { Retries = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new DnsOptions { MaxCacheEntries = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new DnsOptions { NegativeCacheTime = TimeSpan.FromSeconds(-1) }.Validate());
    }
}
