using FastMta.Queue;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using FastMta.Api.Contracts;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Inbound;
using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Server.Api;
using FastMta.Server.Webhooks;
using FastMta.Shaping;
using FastMta.Spool;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// One way to create meters: every metrics class takes the IMeterFactory it is given and creates its meter there (the
// factory is the meter's scope), under the meter name the Prometheus exporter listens for.
public sealed class MeterFactoryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Each_part_creates_its_meter_from_the_factory_it_is_given()
    {
        using IMeterFactory meters = TestMeters.Create();
        var published = new Dictionary<string, HashSet<string>>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter.Scope == meters)
            {
                lock (published)
                {
                    (published.TryGetValue(instrument.Meter.Name, out HashSet<string>? names) ? names : published[instrument.Meter.Name] = []).Add(instrument.Name);
                }
            }
        };
        listener.Start();

        string path = Path.Combine(Path.GetTempPath(), "fastmta-meters-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (MessageSpool spool = await MessageSpool.OpenAsync(new SpoolOptions { Path = path }, NullLogger.Instance, meters))
            {
                _ = new SmtpServerContext(new InboundOptions { Hostname = "mx.test.example" }, () => spool, NullLoggerFactory.Instance,
                    TimeProvider.System, meters);
            }
        }
        finally
        {
            Directory.Delete(path, recursive: true);
        }

        using var shaper = new TrafficShaper(new ShapingOptions(), meters);
        await using var pool = new OutboundConnectionPool(new OutboundOptions(), meters);
        _ = new DestinationResolver(new DnsOptions(), new Dictionary<string, string>(), 25, TimeProvider.System,
            NullLogger<DestinationResolver>.Instance, meters);
        _ = new WebhookMetrics(meters);
        _ = new ApiMetrics(meters);

        lock (published)
        {
            Assert.Equal(
                new[] { DestinationResolver.MeterName, ApiMetrics.MeterName, InboundMetrics.MeterName, LoopMetrics.MeterName, OutboundMetrics.MeterName,
                    TrafficShaper.MeterName, "FastMta.Spool", WebhookMetrics.MeterName },
                published.Keys.Order(StringComparer.Ordinal));
            Assert.Contains("fastmta.smtp.connections", published[InboundMetrics.MeterName]);
            Assert.Contains("fastmta.spool.messages.committed", published["FastMta.Spool"]);
            Assert.Contains("fastmta.queue.loop.failures", published[LoopMetrics.MeterName]); // the webhooks' sender loops
            Assert.Contains("fastmta.shaping.admissions", published[TrafficShaper.MeterName]);
            Assert.Contains("fastmta.outbound.connections_opened", published[OutboundMetrics.MeterName]);
            Assert.Contains("fastmta.dns.lookups", published[DestinationResolver.MeterName]);
            Assert.Contains("fastmta.webhooks.events.posted", published[WebhookMetrics.MeterName]);
            Assert.Contains("fastmta.http.requests", published[ApiMetrics.MeterName]);
        }
    }

    // MetricsTests checks the SMTP, spool, queue, outbound, DNS and delivery-log series; these are the other meters.
    [Fact]
    public async Task The_server_exports_the_shaping_webhook_and_http_meters_it_creates_from_its_factory()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess server = await ServerProcess.StartAsync(
        [
            "Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}",
            $"Mta:Webhooks:nowhere:Url=http://{LoopbackSmtpSink.UnusedEndPoint(IPAddress.Loopback)}/events",
            "Mta:Shaping:Rules:dest:Domains=dest.test", "Mta:Shaping:Rules:dest:MessagesPerSecond=50",
        ], output: output);

        using HttpResponseMessage injected = await Http.PostAsJsonAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/messages",
            new InjectionRequest { From = "alice@sender.test", Recipients = ["bob@dest.test"], Subject = "meters", Text = "Counted." });
        Assert.Equal(HttpStatusCode.Accepted, injected.StatusCode);
        await sink.WaitForMessagesAsync(1, Wait);

        string[] expected =
        [
            "fastmta_shaping_admissions_total", "fastmta_webhooks_queue_length", "fastmta_webhooks_batches_total",
            "fastmta_http_requests_total", "fastmta_http_messages_total",
        ];
        var deadline = Stopwatch.StartNew();
        string scrape;
        string[] missing;
        do
        {
            scrape = await Http.GetStringAsync($"http://127.0.0.1:{server.HttpPort}/metrics");
            missing = [.. expected.Where(name => !scrape.Contains($"\n{name}{{", StringComparison.Ordinal))];
            if (missing.Length > 0)
            {
                await Task.Delay(200);
            }
        }
        while (missing.Length > 0 && deadline.Elapsed < Wait);

        Assert.True(missing.Length == 0, $"missing from /metrics: {string.Join(", ", missing)}\n{scrape}");
    }
}
