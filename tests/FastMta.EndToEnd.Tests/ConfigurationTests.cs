using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Inbound;
using FastMta.Outbound;
using FastMta.Queue;
using FastMta.Server;
using FastMta.Server.Configuration;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace FastMta.EndToEnd.Tests;

// The configuration contract, in-process (no server started): the server's own registrations bound over an in-memory
// configuration, validated as at start-up. The process-level checks (exit code 2, stderr) are the
// InvalidConfiguration.StartUpFailsAsync tests beside the features they configure.
public sealed partial class ConfigurationTests
{
    [Fact]
    public void Every_literal_default_is_the_one_the_README_documents()
    {
        MtaSettings settings = ServerConfiguration.Load(("Mta:Webhooks:crm:Url", "http://127.0.0.1/"));
        InboundOptions inbound = settings.Inbound;
        DeliverySettings delivery = settings.Delivery;
        WebhookSettings hook = Assert.Single(settings.Webhooks);
        var actual = new Dictionary<string, string>
        {
            ["Mta:Smtp:Listen"] = string.Join(", ", settings.SmtpEndpoints),
            ["Mta:Http:Listen"] = settings.HttpEndpoint.ToString(),
            ["Mta:Spool:Path"] = settings.Spool.Path,
            ["Mta:Spool:Durability"] = settings.Spool.Durability.ToString(),
            ["Mta:Relay:Networks"] = string.Join(", ", inbound.RelayNetworks),
            ["Mta:Limits:MaxMessageBytes"] = inbound.MaxMessageBytes.ToString(),
            ["Mta:Limits:MaxRecipients"] = inbound.MaxRecipients.ToString(),
            ["Mta:Limits:CommandTimeout"] = inbound.CommandTimeout.ToString("c"),
            ["Mta:Limits:DataTimeout"] = inbound.DataTimeout.ToString("c"),
            ["Mta:Limits:MinDataRate"] = inbound.MinDataRate.ToString(),
            ["Mta:Limits:MinDataRateGracePeriod"] = inbound.MinDataRateGracePeriod.ToString("c"),
            ["Mta:Limits:MaxConnections"] = inbound.MaxConnections.ToString(),
            ["Mta:Limits:MaxConnectionsPerClient"] = inbound.MaxConnectionsPerClient.ToString(),
            ["Mta:Limits:ExemptRelayNetworks"] = Bool(inbound.ExemptRelayNetworks),
            ["Mta:Limits:MaxErrors"] = inbound.MaxErrors.ToString(),
            ["Mta:Auth:AllowPlaintext"] = Bool(inbound.AllowPlaintextAuth),
            ["Mta:Auth:MaxFailures"] = inbound.MaxAuthFailures.ToString(),
            ["Mta:Auth:FailureWindow"] = inbound.AuthFailureWindow.ToString("c"),
            ["Mta:Auth:MaxFailuresPerMinute"] = inbound.MaxAuthFailuresPerMinute.ToString(),
            ["Mta:Auth:MaxVerificationWait"] = inbound.AuthVerificationWait.ToString("c"),
            ["Mta:Delivery:Enabled"] = Bool(delivery.Enabled),
            ["Mta:Delivery:Paused"] = Bool(delivery.Queue.Paused),
            ["Mta:Delivery:Port"] = delivery.Port.ToString(),
            ["Mta:Delivery:MaxDeliveriesPerDestination"] = delivery.Queue.MaxConcurrencyPerDestination.ToString(),
            ["Mta:Delivery:MaxDeliveriesInFlight"] = delivery.Queue.MaxDeliveriesInFlight.ToString(),
            ["Mta:Delivery:MaxConnectionsPerHost"] = delivery.Outbound.MaxConnectionsPerHost.ToString(),
            ["Mta:Delivery:IdleTimeout"] = delivery.Outbound.IdleTimeout.ToString("c"),
            ["Mta:Delivery:ConnectTimeout"] = delivery.Outbound.ConnectTimeout.ToString("c"),
            ["Mta:Delivery:Tls"] = delivery.Outbound.Tls.ToString(),
            ["Mta:Delivery:VerifyCertificate"] = Bool(delivery.Outbound.VerifyCertificate),
            ["Mta:Dns:Timeout`, `Mta:Dns:Retries"] = $"{delivery.Dns.Timeout:c}, {delivery.Dns.Retries}",
            ["Mta:Queue:RetrySchedule"] = string.Join(",", delivery.Queue.RetrySchedule.Select(t => t.ToString("c"))),
            ["Mta:Queue:MaxAge"] = delivery.Queue.MaxAge.ToString("c"),
            ["Mta:Queue:MaxRecipientsPerTransaction"] = delivery.Queue.MaxRecipientsPerTransaction.ToString(),
            ["Mta:Queue:CopyForwardDistance"] = delivery.Queue.CopyForwardDistance.ToString(),
            ["Mta:DeliveryLog:Path"] = delivery.DeliveryLogPath,
            ["Mta:Webhooks:<name>:BatchSize"] = hook.BatchSize.ToString(),
            ["Mta:Webhooks:<name>:MaxQueue"] = hook.MaxQueue.ToString(),
            ["Mta:Webhooks:<name>:Timeout"] = hook.Timeout.ToString("c"),
            ["Mta:Webhooks:<name>:Linger"] = hook.Linger.ToString("c"),
            ["Mta:Webhooks:<name>:MaxBackoff"] = hook.MaxBackoff.ToString("c"),
            ["Mta:Shaping:Default:MaxConnections"] = settings.Shaping.Options.DefaultRule.MaxConnections.ToString()!,
            ["Mta:Shaping:Default:MaxMessagesPerConnection"] = settings.Shaping.Options.DefaultRule.MaxMessagesPerConnection.ToString()!,
        };

        Dictionary<string, string> documented = ReadmeDefaults();
        foreach ((string key, string value) in actual)
        {
            Assert.True(documented.TryGetValue(key, out string? readme), $"the README has no row for {key}");
            // Paths are documented relative to the working directory and resolved against it.
            string expected = key.EndsWith(":Path", StringComparison.Ordinal) ? Path.GetFullPath(readme) : readme;
            Assert.True(expected == value, $"{key}: the README says {expected}, the code's default is {value}");
        }

        // The keys documented as following another one, or the machine.
        Assert.Equal(System.Net.Dns.GetHostName(), inbound.Hostname);
        Assert.Equal(inbound.Hostname, delivery.Outbound.EhloName);
        Assert.Equal(Environment.ProcessorCount, inbound.MaxConcurrentAuthVerifications);
        Assert.Equal(Math.Min(16, 2 * Environment.ProcessorCount), settings.Injection.MaxConcurrentInjections);
        Assert.Equal((long)(inbound.MaxMessageBytes * 1.4) + 65_536, settings.Injection.MaxRequestBodySize);
        ShapingRule defaultRule = settings.Shaping.Options.DefaultRule;
        Assert.Equal(
            (delivery.Queue.MaxConcurrencyPerDestination, delivery.Outbound.MessagesPerConnection, delivery.Queue.MaxRecipientsPerTransaction),
            (defaultRule.MaxConnections, defaultRule.MaxMessagesPerConnection, defaultRule.MaxRecipientsPerTransaction));
        Assert.Equal(delivery.Queue.MaxConcurrencyPerDestination, delivery.Outbound.MaxConnectionsPerHost);
        Assert.True(settings.CertificateIsSelfSigned);
        Assert.Empty(delivery.Dns.Servers);
        Assert.Empty(settings.ApiKeys);
        Assert.Null(hook.Events);
    }

    [Fact]
    public void Configured_values_reach_the_libraries_options_through_IOptions()
    {
        using ServiceProvider services = ServerConfiguration.Services(ServerConfiguration.Build(
            ("Mta:Hostname", "mta.example.com"), ("Mta:Limits:MaxMessageBytes", "2048"), ("Mta:Limits:CommandTimeout", "00:01:00"),
            ("Mta:Auth:MaxFailures", "3"), ("Mta:Auth:FailureWindow", "00:02:00"), ("Mta:Auth:AllowPlaintext", "true"),
            ("Mta:Relay:Networks", "10.0.0.0/8, 192.0.2.0/24"), ("Mta:Spool:Durability", "relaxed"), ("Mta:Spool:Path", "spool-x"),
            ("Mta:Delivery:MaxConnectionsPerDestination", "7"), ("Mta:Delivery:Tls", "required"),
            ("Mta:Delivery:SourceAddress", "192.0.2.5"),
            ("Mta:Queue:RetrySchedule", "00:01:00,00:02:00"), ("Mta:Dns:Servers:0", "192.0.2.53"), ("Mta:Dns:Servers:1", "[::1]:5353")));

        InboundOptions inbound = services.GetRequiredService<IOptions<InboundOptions>>().Value;
        Assert.Equal(("mta.example.com", 2048L, TimeSpan.FromMinutes(1), 3, TimeSpan.FromMinutes(2), true),
            (inbound.Hostname, inbound.MaxMessageBytes, inbound.CommandTimeout, inbound.MaxAuthFailures, inbound.AuthFailureWindow,
                inbound.AllowPlaintextAuth));
        Assert.Equal(["10.0.0.0/8", "192.0.2.0/24"], inbound.RelayNetworks.Select(n => n.ToString()));
        SpoolOptions spool = services.GetRequiredService<IOptions<SpoolOptions>>().Value;
        Assert.Equal((SpoolDurability.Relaxed, Path.GetFullPath("spool-x")), (spool.Durability, spool.Path));
        QueueOptions queue = services.GetRequiredService<IOptions<QueueOptions>>().Value;
        Assert.Equal((7, "mta.example.com"), (queue.MaxConcurrencyPerDestination, queue.ReportingMta));
        Assert.Equal([TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2)], queue.RetrySchedule);
        OutboundOptions outbound = services.GetRequiredService<IOptions<OutboundOptions>>().Value;
        Assert.Equal((7, OutboundTlsMode.Required, "192.0.2.5", "mta.example.com"),
            (outbound.MaxConnectionsPerHost, outbound.Tls, outbound.SourceAddress?.ToString(), outbound.EhloName));
        Assert.Equal(["192.0.2.53", "[::1]:5353"], services.GetRequiredService<IOptions<FastMta.Outbound.Dns.DnsOptions>>().Value.Servers);
        Assert.Equal(7, services.GetRequiredService<IOptions<ShapingOptions>>().Value.DefaultRule.MaxConnections);
    }

    [Fact]
    public void The_frameworks_start_up_validation_refuses_an_invalid_key()
    {
        using ServiceProvider services = ServerConfiguration.Services(ServerConfiguration.Build(("Mta:Limits:MaxMessageBytes", "100")));
        // The options mapped from the section fail with the section's exception, so the validator may throw it several times.
        Exception thrown = Assert.ThrowsAny<Exception>(() => services.GetRequiredService<IStartupValidator>().Validate());
        IEnumerable<Exception> distinct = (thrown as AggregateException)?.InnerExceptions.Distinct() ?? [thrown];
        OptionsValidationException e = Assert.IsType<OptionsValidationException>(Assert.Single(distinct));
        Assert.Equal(typeof(MtaSection), e.OptionsType);
        Assert.Equal(["Mta:Limits:MaxMessageBytes must be at least 1024 (got 100)."], e.Failures);
    }

    [Theory]
    [InlineData("Mta:Hostname", "mta example", "printable ASCII")]
    [InlineData("Mta:Limits:MaxMessageBytes", "1023", "at least 1024")]
    [InlineData("Mta:Limits:MaxRecipients", "0", "at least 1")]
    [InlineData("Mta:Limits:MaxRecipients", "lots", "Mta:Limits:MaxRecipients")]
    [InlineData("Mta:Limits:MaxRecipients", "3000000000", "Mta:Limits:MaxRecipients")]
    [InlineData("Mta:Limits:DataTimeout", "00:00:00", "1.00:00:00")]
    [InlineData("Mta:Limits:MaxErrors", "-5", "at least 1")]
    [InlineData("Mta:Auth:FailureWindow", "1.00:00:01", "1.00:00:00")]
    [InlineData("Mta:Auth:MaxConcurrentVerifications", "257", "between 1 and 256")]
    [InlineData("Mta:Auth:AllowPlaintext", "yes", "Mta:Auth:AllowPlaintext")]
    [InlineData("Mta:Relay:Networks", "10.0.0.0/8,10.0.0.1", "10.0.0.1")]
    [InlineData("Mta:Smtp:Listen", "127.0.0.1", "ip:port")]
    [InlineData("Mta:Http:Listen", "localhost:8025", "ip:port")]
    [InlineData("Mta:Http:MaxRequestBodySize", "2000000000000", "between 1024 and 1099511627776")]
    [InlineData("Mta:Delivery:Port", "0", "at least 1")]
    [InlineData("Mta:Delivery:MaxConnectionsPerDestination", "0", "at least 1")]
    [InlineData("Mta:Delivery:MessagesPerConnection", "0", "at least 1")]
    [InlineData("Mta:Delivery:SourceAddress", "egress.example.com", "not an IP address")]
    [InlineData("Mta:Delivery:ConnectTimeout", "2.00:00:00", "1.00:00:00")]
    [InlineData("Mta:Queue:MaxRecipientsPerTransaction", "10001", "1..10000")]
    [InlineData("Mta:Queue:CopyForwardDistance", "1000", "at least 1048576")]
    [InlineData("Mta:Queue:RetrySchedule", "00:05:00,soon", "soon")]
    [InlineData("Mta:Dns:Retries", "-1", "at least 0")]
    [InlineData("Mta:Dns:Servers", "dns.example.com", "dns.example.com")]
    [InlineData("Mta:Routes:example.com", "smtp.example.com", "host:port")]
    [InlineData("Mta:Tls:CertificatePath", "/nonexistent/fastmta.p12", "fastmta.p12")]
    public void An_invalid_value_is_refused_with_its_key_named(string key, string value, string detail)
    {
        Exception e = Assert.ThrowsAny<Exception>(() => ServerConfiguration.Load((key, value)));
        // What Program catches and reports as "invalid configuration" (exit code 2).
        Assert.True(e is InvalidOperationException or FormatException or IOException
            or System.Security.Cryptography.CryptographicException, e.ToString());
        Assert.Contains(key, e.Message);
        Assert.Contains(detail, e.Message);
    }

    [Theory]
    [InlineData("Mta:Spool:Durability", "Comit", "Commit")]
    [InlineData("Mta:Spool:Durability", "0", "Relaxed")]
    [InlineData("Mta:Delivery:Tls", "Oportunistic", "Opportunistic, Required or Disabled")]
    [InlineData("Mta:Webhooks:a:Events", "Bounce,Deliveries", "Reception, Delivery")]
    public void A_misspelt_name_is_refused_with_its_key_and_the_names_it_takes(string key, string value, string names)
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            ServerConfiguration.Load((key, value), ("Mta:Webhooks:a:Url", "http://127.0.0.1/")));
        Assert.StartsWith(key, e.Message);
        Assert.Contains(names, e.Message);
    }

    [Fact]
    public void Every_invalid_key_is_named_at_once()
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ServerConfiguration.Load(
            ("Mta:Limits:MaxRecipients", "0"), ("Mta:Auth:MaxFailures", "0"), ("Mta:Queue:MaxAge", "400.00:00:00")));
        Assert.Contains("Mta:Limits:MaxRecipients", e.Message);
        Assert.Contains("Mta:Auth:MaxFailures", e.Message);
        Assert.Contains("Mta:Queue:MaxAge", e.Message);
    }

    [Fact]
    public void An_empty_value_keeps_the_default_as_before()
    {
        MtaSettings settings = ServerConfiguration.Load(("Mta:Limits:MaxMessageBytes", ""), ("Mta:Spool:Durability", " "),
            ("Mta:Delivery:Enabled", ""), ("Mta:Http:Listen", ""), ("Mta:Smtp:Listen", ""));
        Assert.Equal(new InboundOptions { Hostname = "x" }.MaxMessageBytes, settings.Inbound.MaxMessageBytes);
        Assert.Equal(SpoolDurability.Commit, settings.Spool.Durability);
        Assert.True(settings.Delivery.Enabled);
        Assert.Equal(("127.0.0.1:8025", "127.0.0.1:2525"), (settings.HttpEndpoint.ToString(), string.Join(",", settings.SmtpEndpoints)));
    }

    [Fact]
    public void An_invalid_edit_of_a_running_servers_configuration_does_not_throw_from_the_reload_and_start_up_values_stay()
    {
        IConfigurationRoot config = ServerConfiguration.Build(("Mta:Limits:MaxMessageBytes", "2048"));
        using ServiceProvider services = ServerConfiguration.Services(config);
        MtaSettings settings = services.GetRequiredService<MtaSettings>();

        // What a file watcher does after an edit. Were the section's options monitored (OptionsBuilder.Bind's
        // change-token source), the monitor would re-validate inside this call and throw out of it.
        config["Mta:Limits:MaxMessageBytes"] = "100";
        config.Reload();

        Assert.Equal(2048, settings.Inbound.MaxMessageBytes);
        Assert.Equal(2048, services.GetRequiredService<IOptionsMonitor<InboundOptions>>().CurrentValue.MaxMessageBytes);
        Assert.Equal(2048, services.GetRequiredService<IOptionsMonitor<MtaSection>>().CurrentValue.Limits.MaxMessageBytes);
    }

    [Fact]
    public void The_binder_cannot_split_a_list_value_or_refuse_an_enum_number_so_ConfigurationValues_does()
    {
        IConfigurationRoot config = ServerConfiguration.Build(("Probe:Items", "a,b"), ("Probe:Durability", "1"));
        BinderProbe bound = config.GetSection("Probe").Get<BinderProbe>()!;
        Assert.Empty(bound.Items); // one comma-separated value is no list to the binder
        Assert.Equal(SpoolDurability.Relaxed, bound.Durability); // and a number is an enum value
        Assert.Equal(["a", "b"], ConfigurationValues.ReadList(config.GetSection("Probe:Items")));
        Assert.False(ConfigurationValues.TryParseName("1", out SpoolDurability _));
    }

    public sealed class BinderProbe
    {
        public List<string> Items { get; set; } = [];
        public SpoolDurability Durability { get; set; }
    }

    // key → default, from the README's configuration tables ("| `key` | `default` | meaning |"); a default of several
    // values (`a`, `b`) is joined with ", ". Rows whose default is prose, not a literal, are left out.
    private static Dictionary<string, string> ReadmeDefaults()
    {
        var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(Path.Combine(RepoLayout.RepositoryRoot, "README.md")))
        {
            Match row = ConfigurationRow().Match(line);
            if (row.Success && LiteralDefault().Match(row.Groups["default"].Value) is { Success: true } literal)
            {
                defaults[row.Groups["key"].Value] = string.Join(", ", literal.Groups["value"].Captures.Select(c => c.Value));
            }
        }

        return defaults;
    }

    private static string Bool(bool value) => value ? "true" : "false";

    [GeneratedRegex(@"^\| `(?<key>Mta:[^|]+?)` \| (?<default>[^|]*) \|")]
    private static partial Regex ConfigurationRow();

    [GeneratedRegex(@"^\s*`(?<value>[^`]*)`(?:, `(?<value>[^`]*)`)*\s*$")]
    private static partial Regex LiteralDefault();
}
