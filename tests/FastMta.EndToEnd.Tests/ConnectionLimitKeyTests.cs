using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Server;
using FastMta.Server.Configuration;
using FastMta.Shaping;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// One configuration key per limit on attempts and connections, the deprecated keys that once fed several of them
// still working (with a warning), and shaping errors naming the key the operator wrote rather than the library's
// field path.
public sealed class ConnectionLimitKeyTests(ITestOutputHelper output)
{
    private static IConfigurationRoot Config(params (string Key, string Value)[] values) => new ConfigurationBuilder()
        .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static (int Queue, int Pool, int Rule, int Messages, int PoolMessages) Limits(MtaSettings settings) =>
        (settings.Delivery.Queue.MaxConcurrencyPerDestination, settings.Delivery.Outbound.MaxConnectionsPerHost,
            settings.Shaping.Options.DefaultRule.MaxConnections!.Value, settings.Shaping.Options.DefaultRule.MaxMessagesPerConnection!.Value,
            settings.Delivery.Outbound.MessagesPerConnection);

    [Fact]
    public void Each_limit_has_its_own_key_and_the_deprecated_keys_fill_only_the_limits_left_unset()
    {
        MtaSettings plain = ServerConfiguration.Load(Config());
        Assert.Equal((20, 20, 20, 100, 100), Limits(plain));
        Assert.Empty(plain.Delivery.ConnectionLimits.DeprecatedKeys);

        MtaSettings own = ServerConfiguration.Load(Config(("Mta:Delivery:MaxDeliveriesPerDestination", "3"), ("Mta:Delivery:MaxConnectionsPerHost", "4"),
            ("Mta:Shaping:Default:MaxConnections", "5"), ("Mta:Shaping:Default:MaxMessagesPerConnection", "6")));
        Assert.Equal((3, 4, 5, 6, 6), Limits(own));
        Assert.Empty(own.Delivery.ConnectionLimits.DeprecatedKeys);

        // The old key feeds all three limits, as it always did, and says which keys to set instead.
        MtaSettings legacy = ServerConfiguration.Load(Config(("Mta:Delivery:MaxConnectionsPerDestination", "7"), ("Mta:Delivery:MessagesPerConnection", "9")));
        Assert.Equal((7, 7, 7, 9, 9), Limits(legacy));
        Assert.Equal(
            [
                new DeprecatedKeyUse("Mta:Delivery:MaxConnectionsPerDestination",
                    ["Mta:Delivery:MaxDeliveriesPerDestination", "Mta:Delivery:MaxConnectionsPerHost", "Mta:Shaping:Default:MaxConnections"]),
                new DeprecatedKeyUse("Mta:Delivery:MessagesPerConnection", ["Mta:Shaping:Default:MaxMessagesPerConnection"]),
            ],
            legacy.Delivery.ConnectionLimits.DeprecatedKeys, DeprecatedKeyUseComparer.Instance);

        // A limit's own key wins over the old one.
        MtaSettings mixed = ServerConfiguration.Load(Config(("Mta:Delivery:MaxConnectionsPerDestination", "7"), ("Mta:Delivery:MaxConnectionsPerHost", "2"),
            ("Mta:Delivery:MessagesPerConnection", "9"), ("Mta:Shaping:Default:MaxMessagesPerConnection", "8")));
        Assert.Equal((7, 2, 7, 8, 8), Limits(mixed));
        Assert.Equal([["Mta:Delivery:MaxDeliveriesPerDestination", "Mta:Shaping:Default:MaxConnections"], []],
            mixed.Delivery.ConnectionLimits.DeprecatedKeys.Select(d => d.Sets));

        foreach (string key in new[] { "Mta:Delivery:MaxDeliveriesPerDestination", "Mta:Delivery:MaxConnectionsPerHost", "Mta:Delivery:MaxConnectionsPerDestination" })
        {
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ServerConfiguration.Load(Config((key, "0"))));
            Assert.Equal($"{key} must be at least 1 (got 0).", e.Message); // MtaSectionValidator's wording
        }
    }

    [Fact]
    public void Shaping_errors_name_the_configuration_key_not_the_field_path()
    {
        var cases = new ((string Key, string Value)[] Settings, string Message)[]
                 {
                     ([("Mta:Egress:Pools:p:ghost", "1")], "Mta:Egress:Pools:p:ghost names no source in Sources."),
                     ([("Mta:Egress:Sources:a:Address", "127.0.0.2"), ("Mta:Egress:Sources:a:Warmup:StartDate", "2026-12-01"),
                         ("Mta:Egress:Sources:a:Warmup:RuleCaps:nosuch", "5")], "Mta:Egress:Sources:a:Warmup:RuleCaps:nosuch names no rule."),
                     ([("Mta:Egress:SenderDomainPools:x.test", "nosuch")], "Mta:Egress:SenderDomainPools:x.test names 'nosuch', which is no pool in Pools."),
                     ([("Mta:Shaping:Rules:r:MxSuffixes", "google.com")],
                         "Mta:Shaping:Rules:r:MxSuffixes entry 'google.com' must start with one dot, e.g. \".example.com\"."),
                     ([("Mta:Shaping:Rules:a:Domains", "x.test"), ("Mta:Shaping:Rules:b:Domains", "X.test")],
                         "Mta:Shaping:Rules:b:Domains entry 'X.test' is already matched by rule 'a'."),
                     ([("Mta:Shaping:Rules:r:MessagesPerSecond", "10")], "Mta:Shaping:Rules:r needs Domains, DomainSuffixes or MxSuffixes."),
                 };
        foreach (((string Key, string Value)[] settings, string message) in cases)
        {
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ServerConfiguration.Load(Config(settings)));
            Assert.Equal(message, e.Message);
            Assert.IsType<ShapingOptionsException>(e.InnerException);
        }
    }

    [Fact]
    public async Task A_deprecated_key_still_limits_delivery_and_is_warned_about_at_start_up()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await ServerProcess.StartAsync(
            ["Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}", "Mta:Delivery:MaxConnectionsPerDestination=1"], output: output);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            for (int i = 0; i < 10; i++)
            {
                await client.SendMessageAsync("alice@sender.test", [$"r{i}@dest.test"],
                    MessageContent.Simple("alice@sender.test", $"r{i}@dest.test", $"legacy {i}", "hello\r\n"));
            }
        }

        await sink.WaitForMessagesAsync(10, TimeSpan.FromSeconds(60));
        Assert.Equal(1, sink.ConnectionCount); // one attempt at a time, so one connection carried them all
        Assert.Contains("Mta:Delivery:MaxConnectionsPerDestination is deprecated: it sets Mta:Delivery:MaxDeliveriesPerDestination, "
            + "Mta:Delivery:MaxConnectionsPerHost, Mta:Shaping:Default:MaxConnections", relay.Log);
    }

    private sealed class DeprecatedKeyUseComparer : IEqualityComparer<DeprecatedKeyUse>
    {
        public static readonly DeprecatedKeyUseComparer Instance = new();

        public bool Equals(DeprecatedKeyUse? x, DeprecatedKeyUse? y) =>
            x is not null && y is not null && x.Key == y.Key && x.Sets.SequenceEqual(y.Sets);

        public int GetHashCode(DeprecatedKeyUse obj) => obj.Key.GetHashCode(StringComparison.Ordinal);
    }
}
