using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace FastMta.EndToEnd.Tests;

// GET /metrics of a real server that accepts, queues, resolves (a loopback DNS server), delivers (a loopback sink),
// defers, bounces and logs: every scrape, during the load and after it, must pass `promtool check metrics` (parse and
// lint) and carry the conventional names the README and the Grafana dashboard use.
public sealed partial class MetricsTests(ITestOutputHelper output)
{
    private const string PromtoolMissing =
        "promtool (Debian package prometheus) is not installed, so /metrics is NOT checked; run the suite through " +
        "`bash tests/run.sh`, which installs it.";

    // What Prometheus 2.x sends: OpenMetrics preferred. FastMta answers in the classic text format anyway.
    private const string PrometheusAccept =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [SkippableFact]
    public async Task Scrapes_during_and_after_load_pass_promtool_and_use_conventional_names()
    {
        string? promtool = ExternalTool.FindOnPath("promtool");
        if (promtool is null)
        {
            output.WriteLine("SKIPPED: " + PromtoolMissing);
            Console.Error.WriteLine("MetricsTests SKIPPED: " + PromtoolMissing);
        }
        Skip.If(promtool is null, PromtoolMissing);

        await using var dns = new LoopbackDnsServer();
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            RcptReply = r => r.Address.StartsWith("later@", StringComparison.Ordinal) ? "450 4.2.0 Try again later" : null,
        });
        dns.AddMx("dest.test", 10, "mx.dest.test");
        dns.AddA("mx.dest.test", IPAddress.Loopback);
        dns.AddMx("sender.test", 10, "mx.dest.test"); // where the DSN for the null-MX recipient goes
        dns.AddNullMx("null-mx.test");
        await using ServerProcess server = await ServerProcess.StartAsync(
        [
            "Mta:Delivery:Enabled=true",
            $"Mta:Delivery:Port={sink.EndPoint.Port}",
            $"Mta:Dns:Servers={dns.ServerSpec}",
            "Mta:Dns:Timeout=00:00:02",
        ], output: output);

        // Four sessions of ten messages; one message also has a deferred and a failed (null MX) recipient.
        const int Sessions = 4, PerSession = 10;
        Task load = Task.WhenAll(Enumerable.Range(0, Sessions).Select(s => SendAsync(server, s, PerSession)));
        var scrapes = new List<(string When, string Text)>();
        do
        {
            scrapes.Add(($"during load #{scrapes.Count + 1}", await ScrapeAsync(server, accept: null)));
        }
        while (!load.IsCompleted && scrapes.Count < 50);
        await load;

        // The delivered, deferred and failed outcomes (and the DSN's delivery) show on /metrics.
        string after = await WaitForScrapeAsync(server, text =>
            Value(text, "fastmta_delivery_recipients_total", "outcome=\"delivered\"") >= Sessions * PerSession + 1
            && Value(text, "fastmta_delivery_recipients_total", "outcome=\"deferred\"") >= 1
            && Value(text, "fastmta_delivery_recipients_total", "outcome=\"failed\"") >= 1
            && Value(text, "fastmta_deliverylog_events_written_total", "") >= 1);
        scrapes.Add(("after load", after));
        scrapes.Add(("after load, Prometheus' Accept header", await ScrapeAsync(server, PrometheusAccept)));

        foreach ((string when, string text) in scrapes)
        {
            ToolResult check = await ExternalTool.RunAsync(promtool!, ["check", "metrics"], TimeSpan.FromSeconds(30), stdin: text);
            if (check.ExitCode != 0 || check.Stdout.Trim().Length > 0 || check.Stderr.Trim().Length > 0)
            {
                throw new XunitException($"promtool check metrics on the scrape {when} reported problems:\n{check}\n--- scrape ---\n{text}");
            }
        }
        output.WriteLine($"promtool passed {scrapes.Count} scrapes ({scrapes.Count - 2} during the load).");

        var names = MetricNames(after);
        string[] expected =
        [
            "fastmta_smtp_connections_total", "fastmta_smtp_commands_total", "fastmta_smtp_messages_accepted_total", "fastmta_smtp_accepted_bytes_total",
            "fastmta_spool_messages_committed_total", "fastmta_spool_body_committed_bytes_total", "fastmta_spool_commits_total",
            "fastmta_spool_commit_duration_seconds_bucket", "fastmta_spool_recovery_duration_seconds_count",
            "fastmta_queue_messages", "fastmta_queue_recipients", "fastmta_delivery_recipients_total",
            "fastmta_delivery_attempt_duration_seconds_bucket", "fastmta_delivery_latency_seconds_bucket",
            "fastmta_queue_bounces_total", "fastmta_outbound_connections_open", "fastmta_outbound_connections_opened_total",
            "fastmta_outbound_transactions_total", "fastmta_outbound_recipients_total", "fastmta_outbound_delivery_duration_seconds_sum",
            "fastmta_dns_lookups_total", "fastmta_dns_lookup_duration_seconds_bucket", "fastmta_deliverylog_events_written_total",
            "process_cpu_time_seconds_total", "process_memory_usage_bytes", "process_open_fds", "process_threads",
            "dotnet_gc_collections_total", "dotnet_gc_heap_total_allocated_bytes_total",
        ];
        Assert.All(expected, name => Assert.True(names.Contains(name), $"{name} is missing from /metrics:\n{after}"));
        Assert.True(Value(after, "fastmta_dns_lookups_total", "result=\"resolved\"") >= 1, after);
        Assert.True(Value(after, "fastmta_queue_recipients", "state=\"deferred\"") >= 1, after);
        Assert.True(Value(after, "fastmta_spool_messages_committed_total", "") >= Sessions * PerSession, after);
        Assert.Contains("# HELP fastmta_queue_messages Messages in the queue with at least one recipient not yet delivered or failed.", after);
        Assert.Contains("# TYPE fastmta_delivery_recipients_total counter", after);

        foreach (string name in names.Where(n => n.StartsWith("fastmta_", StringComparison.Ordinal)))
        {
            string[] words = name.Split('_');
            Assert.False(words.Skip(1).Contains("fastmta"), $"{name}: doubled prefix");
            Assert.False(words.Where(w => w is "bytes" or "seconds" or "total").GroupBy(w => w).Any(g => g.Count() > 1), $"{name}: doubled suffix");
            Assert.DoesNotContain("milliseconds", words);
        }
    }

    private static async Task SendAsync(ServerProcess server, int session, int count)
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        for (int i = 0; i < count; i++)
        {
            string[] recipients = session == 0 && i == 0
                ? ["bob@dest.test", "later@dest.test", "nobody@null-mx.test"]
                : ["bob@dest.test"];
            byte[] content = Encoding.ASCII.GetBytes($"From: alice@sender.test\r\nSubject: metrics {session}.{i}\r\n\r\nHello.\r\n");
            await client.SendMessageAsync("alice@sender.test", recipients, content);
        }
        await client.CommandAsync("QUIT", 221);
    }

    private static async Task<string> ScrapeAsync(ServerProcess server, string? accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{server.HttpPort}/metrics");
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }
        using HttpResponseMessage response = await Http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw server.Failure($"/metrics answered {(int)response.StatusCode}:\n{body}");
        }
        string? type = response.Content.Headers.ContentType?.ToString();
        if (type is null || !type.StartsWith("text/plain", StringComparison.Ordinal) || !type.Contains("version=0.0.4", StringComparison.Ordinal))
        {
            throw server.Failure($"/metrics (Accept: {accept ?? "none"}) answered Content-Type {type}, not text/plain; version=0.0.4.");
        }
        return body;
    }

    private static async Task<string> WaitForScrapeAsync(ServerProcess server, Func<string, bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        string text;
        do
        {
            text = await ScrapeAsync(server, accept: null);
            if (condition(text))
            {
                return text;
            }
            await Task.Delay(200);
        }
        while (deadline.Elapsed < Wait);
        throw server.Failure($"/metrics did not show the expected delivery outcomes within {Wait}:\n{text}");
    }

    private static HashSet<string> MetricNames(string text) =>
        text.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => SeriesName().Match(l).Value).ToHashSet();

    // The sum of the samples of `name` whose label set contains `label` (all of them when `label` is empty).
    private static double Value(string text, string name, string label)
    {
        double sum = 0;
        foreach (Match m in Sample().Matches(text))
        {
            if (m.Groups["name"].Value == name && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            {
                sum += double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return sum;
    }

    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex SeriesName();

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
