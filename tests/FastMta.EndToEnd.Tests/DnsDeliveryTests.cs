using System.Net;
using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Delivery by MX: a real DNS server on loopback (ARSoft.Tools.Net, in-process) answers for the test domains, and the
// MX hosts resolve to 127.0.0.x addresses where real SMTP sinks listen on one shared port (Mta:Delivery:Port).
public sealed class DnsDeliveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly IPAddress First = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Second = IPAddress.Parse("127.0.0.3");
    private static readonly IPAddress Nobody = IPAddress.Parse("127.0.0.4"); // nothing listens there: refused

    private readonly LoopbackDnsServer _dns = new();
    private LoopbackSmtpSink _firstSink = null!;
    private LoopbackSmtpSink _secondSink = null!;
    private ServerProcess _relay = null!;

    public async Task InitializeAsync()
    {
        _firstSink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Address = First });
        int port = _firstSink.EndPoint.Port;
        _secondSink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Address = Second, Port = port });

        _dns.AddMx("one.test", 10, "mx.one.test");
        _dns.AddA("mx.one.test", First);
        _dns.AddMx("two.test", 10, "mx.two.test");
        _dns.AddA("mx.two.test", Second);
        _dns.AddMx("fallback.test", 10, "down.fallback.test");
        _dns.AddMx("fallback.test", 20, "up.fallback.test");
        _dns.AddA("down.fallback.test", Nobody);
        _dns.AddA("up.fallback.test", First);
        _dns.AddA("no-mx.test", Second); // no MX: the domain's own address (RFC 5321 5.1)
        _dns.AddNullMx("null-mx.test");
        _dns.AddMx("sender.test", 10, "mx.two.test");

        _relay = await ServerProcess.StartAsync(
        [
            "Mta:Delivery:Enabled=true",
            $"Mta:Delivery:Port={port}",
            $"Mta:Dns:Servers={_dns.ServerSpec}",
            "Mta:Dns:Timeout=00:00:02",
            "Mta:Queue:RetrySchedule=00:00:01",
        ], output: output);
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _firstSink.DisposeAsync();
        await _secondSink.DisposeAsync();
        await _dns.DisposeAsync();
    }

    private async Task<string> SendAsync(params string[] recipients)
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(_relay);
        await client.EhloAsync();
        return await client.SendMessageAsync("alice@sender.test", recipients,
            MessageContent.Simple("alice@sender.test", recipients[0], "by MX", "hello\r\n", $"<{Guid.NewGuid():N}@sender.test>"));
    }

    [Fact]
    public async Task Two_domains_are_delivered_to_their_own_MX_hosts()
    {
        await SendAsync("a@one.test", "b@two.test");

        SinkMessage one = (await _firstSink.WaitForMessagesAsync(1, Wait)).Single();
        SinkMessage two = (await _secondSink.WaitForMessagesAsync(1, Wait)).Single();
        Assert.Equal(["a@one.test"], one.Recipients);
        Assert.Equal(["b@two.test"], two.Recipients);
        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(_relay, e => e.Count(x => x.Type == "Delivery") == 2, "both are logged");
        Assert.Equal("mx.one.test", log.Single(e => e.Recipient == "a@one.test" && e.Type == "Delivery").RemoteHost);
        Assert.Equal("mx.two.test", log.Single(e => e.Recipient == "b@two.test" && e.Type == "Delivery").RemoteHost);
    }

    [Fact]
    public async Task When_the_preferred_MX_refuses_connections_the_next_one_gets_the_mail()
    {
        await SendAsync("c@fallback.test");

        SinkMessage received = (await _firstSink.WaitForMessagesAsync(1, Wait)).Single();
        Assert.Equal(["c@fallback.test"], received.Recipients);
        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(_relay, e => e.Any(x => x.Type == "Delivery"), "it is logged");
        Assert.Equal("up.fallback.test", log.Single(e => e.Type == "Delivery").RemoteHost);
        Assert.True(_dns.QueryCount("fallback.test") >= 1);
    }

    [Fact]
    public async Task A_domain_without_MX_is_delivered_to_its_own_address()
    {
        await SendAsync("d@no-mx.test");

        SinkMessage received = (await _secondSink.WaitForMessagesAsync(1, Wait)).Single();
        Assert.Equal(["d@no-mx.test"], received.Recipients);
    }

    [Theory]
    [InlineData("e@null-mx.test", "5.1.10")]
    [InlineData("f@does-not-exist.test", "5.1.2")]
    public async Task A_domain_that_takes_no_mail_bounces_at_once(string recipient, string status)
    {
        string id = await SendAsync(recipient);

        // The DSN goes to sender.test, whose MX is the second sink.
        SinkMessage dsn = (await _secondSink.WaitForMessagesAsync(1, Wait)).Single();
        Assert.Equal("", dsn.Sender);
        Assert.Equal(["alice@sender.test"], dsn.Recipients);
        string text = Encoding.UTF8.GetString(dsn.Data);
        Assert.Contains("Final-Recipient: rfc822; " + recipient, text);
        Assert.Contains("Status: " + status, text);
        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(_relay, e => e.Any(x => x.Type == "Bounce"), "the bounce is logged");
        LoggedEvent bounce = log.Single(e => e.Type == "Bounce");
        Assert.Equal((id, recipient, status, 1), (bounce.MessageId, bounce.Recipient, bounce.EnhancedStatus, bounce.Attempt));
        Assert.DoesNotContain(log, e => e.Type == "TransientFailure");
    }
}
