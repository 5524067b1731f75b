using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Server;
using FastMta.Shaping;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Configuration;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Traffic shaping end to end: a real FastMta process delivers over static routes to a loopback sink that records the
// peer address (the egress source), the connection and the arrival time of every message.
public sealed class ShapingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly IPAddress SourceA = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress SourceB = IPAddress.Parse("127.0.0.3");

    private Task<ServerProcess> StartRelayAsync(LoopbackSmtpSink sink, params string[] settings) =>
        ServerProcess.StartAsync(["Mta:Delivery:Enabled=true", "Mta:Queue:RetrySchedule=00:00:01", $"Mta:Routes:*={sink.EndPoint}", .. settings],
            output: output);

    private static async Task SendAsync(ServerProcess server, IEnumerable<string> recipients)
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        int n = 0;
        foreach (string recipient in recipients)
        {
            await client.SendMessageAsync("alice@sender.test", [recipient],
                MessageContent.Simple("alice@sender.test", recipient, $"shaping {++n}", "hello\r\n"));
        }
    }

    private static string[] Recipients(string domain, int count) =>
        [.. Enumerable.Range(1, count).Select(i => $"user{i}@{domain}")];

    private static string[] TwoSources(int weightA, int weightB) =>
    [
        $"Mta:Egress:Sources:a:Address={SourceA}",
        $"Mta:Egress:Sources:b:Address={SourceB}",
        $"Mta:Egress:Pools:default:a={weightA}",
        $"Mta:Egress:Pools:default:b={weightB}",
    ];

    private static async Task<JsonNode> GetJsonAsync(ServerProcess server, string path)
    {
        using HttpResponseMessage response = await Http.GetAsync($"http://127.0.0.1:{server.HttpPort}/{path}");
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task<(HttpStatusCode Status, string Body)> PostAsync(ServerProcess server, string path)
    {
        using HttpResponseMessage response = await Http.PostAsync($"http://127.0.0.1:{server.HttpPort}/{path}", null);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Two_sources_in_one_pool_split_the_traffic_by_their_weights()
    {
        await using var sink = new LoopbackSmtpSink();
        // One message per connection, so that every message is one choice of source.
        await using ServerProcess relay = await StartRelayAsync(sink, [.. TwoSources(3, 1), "Mta:Shaping:Default:MaxMessagesPerConnection=1"]);

        await SendAsync(relay, Recipients("dest.test", 40));

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(40, Wait);
        int fromA = messages.Count(m => m.Peer.Address.Equals(SourceA));
        int fromB = messages.Count(m => m.Peer.Address.Equals(SourceB));
        output.WriteLine($"127.0.0.2: {fromA}, 127.0.0.3: {fromB}");
        Assert.Equal(40, fromA + fromB);
        Assert.InRange(fromA, 28, 32);
        Assert.InRange(fromB, 8, 12);
    }

    [Fact]
    public async Task The_pool_named_by_X_FastMta_Pool_or_the_API_is_used_and_the_header_never_reaches_the_receiver()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink,
            $"Mta:Egress:Sources:a:Address={SourceA}", $"Mta:Egress:Sources:b:Address={SourceB}",
            "Mta:Egress:Pools:default:a=1", "Mta:Egress:Pools:bulk:b=1");

        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            await client.SendMessageAsync("alice@sender.test", ["r1@dest.test"], "X-FastMta-Pool: bulk\r\nSubject: one\r\n\r\nbody\r\n"u8.ToArray());
            await client.SendMessageAsync("alice@sender.test", ["r2@dest.test"], "Subject: two\r\n\r\nbody\r\n"u8.ToArray());

            // BDAT, the field's name split across two chunks and folded onto a second line.
            await client.CommandAsync("MAIL FROM:<alice@sender.test>", 250);
            await client.CommandAsync("RCPT TO:<r3@dest.test>", 250);
            const string head = "Subject: three\r\nx-fastmta-", tail = "pool:\r\n bulk\r\n\r\nbody\r\n";
            await client.WriteAsync($"BDAT {head.Length}\r\n{head}");
            await client.ExpectAsync(250);
            await client.WriteAsync($"BDAT {tail.Length} LAST\r\n{tail}");
            await client.ExpectAsync(250, "2.0.0");

            // A pool that is not configured: refused, and the session goes on.
            await client.CommandAsync("MAIL FROM:<alice@sender.test>", 250);
            await client.CommandAsync("RCPT TO:<r0@dest.test>", 250);
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync("X-FastMta-Pool: nosuch\r\nSubject: refused\r\n\r\nbody\r\n.\r\n");
            await client.ExpectAsync(550, "5.7.1");
            await client.CommandAsync("NOOP", 250);
        }

        Assert.Equal(HttpStatusCode.Accepted, await InjectAsync(relay, new { from = "alice@sender.test", recipients = new[] { "r4@dest.test" }, pool = "bulk", subject = "four", text = "body" }));
        Assert.Equal(HttpStatusCode.Accepted, await InjectAsync(relay, new { from = "alice@sender.test", recipients = new[] { "r5@dest.test" }, content = "X-FastMta-Pool: bulk\r\nSubject: five\r\n\r\nbody\r\n" }));
        Assert.Equal(HttpStatusCode.BadRequest, await InjectAsync(relay, new { from = "alice@sender.test", recipients = new[] { "r0@dest.test" }, pool = "nosuch", subject = "refused", text = "body" }));
        Assert.Equal(HttpStatusCode.BadRequest, await InjectAsync(relay, new { from = "alice@sender.test", recipients = new[] { "r0@dest.test" }, content = "X-FastMta-Pool: nosuch\r\n\r\nbody\r\n" }));

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(5, Wait);
        var sources = messages.ToDictionary(m => Assert.Single(m.Recipients), m => m.Peer.Address);
        output.WriteLine(string.Join(", ", sources.Select(s => $"{s.Key} from {s.Value}")));
        Assert.Equal(SourceB, sources["r1@dest.test"]);
        Assert.Equal(SourceA, sources["r2@dest.test"]);
        Assert.Equal(SourceB, sources["r3@dest.test"]);
        Assert.Equal(SourceB, sources["r4@dest.test"]);
        Assert.Equal(SourceB, sources["r5@dest.test"]);
        Assert.DoesNotContain("r0@dest.test", sources.Keys);
        Assert.All(messages, m => Assert.DoesNotContain("x-fastmta-pool", Encoding.ASCII.GetString(m.Data), StringComparison.OrdinalIgnoreCase));
        Assert.Contains("Subject: three\r\n\r\nbody\r\n", Encoding.ASCII.GetString(messages.Single(m => m.Recipients[0] == "r3@dest.test").Data));
    }

    private static async Task<HttpStatusCode> InjectAsync(ServerProcess server, object request)
    {
        using HttpResponseMessage response = await Http.PostAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/messages",
            new StringContent(JsonSerializer.Serialize(request, JsonSerializerOptions.Web), Encoding.UTF8, "application/json"));
        return response.StatusCode;
    }

    [Fact]
    public async Task A_rule_of_10_messages_per_second_holds_its_domain_while_another_domain_is_unaffected()
    {
        var arrivals = new ConcurrentQueue<(string Domain, TimeSpan At)>();
        var clock = Stopwatch.StartNew();
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            DataReply = m =>
            {
                arrivals.Enqueue((m.Recipients[0][(m.Recipients[0].IndexOf('@') + 1)..], clock.Elapsed));
                return null;
            },
        });
        await using ServerProcess relay = await StartRelayAsync(sink,
            "Mta:Shaping:Rules:slow:Domains=slow.test", "Mta:Shaping:Rules:slow:MessagesPerSecond=10", "Mta:Shaping:Rules:slow:Burst=1");

        // Both domains are held while the mail is injected and released together, so that what is measured is the
        // shaping, not how fast a loaded machine injects.
        string[] slow = Recipients("slow.test", 30);
        string[] fast = Recipients("fast.test", 30);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(relay, "api/v1/destinations/slow.test/suspend")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(relay, "api/v1/destinations/fast.test/suspend")).Status);
        await SendAsync(relay, slow.Zip(fast).SelectMany(p => new[] { p.First, p.Second }));
        // The destination view shows both queues held by their suspension, each with its 30 recipients waiting.
        JsonArray queues = [];
        for (int i = 0; i < 100 && !(queues.Count == 2 && queues.All(q => (int)q!["waitingRecipients"]! == 30)); i++)
        {
            await Task.Delay(100);
            queues = (await GetJsonAsync(relay, "api/v1/destinations")).AsArray();
        }

        output.WriteLine(queues.ToJsonString());
        Assert.Equal(["fast.test", "slow.test"], queues.Select(q => (string)q!["domain"]!).Order());
        Assert.All(queues, q => Assert.Equal((30, true), ((int)q!["waitingRecipients"]!, (bool)q["suspended"]!)));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(relay, "api/v1/destinations/slow.test/resume")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(relay, "api/v1/destinations/fast.test/resume")).Status);

        await sink.WaitForMessagesAsync(60, Wait);
        var slowTimes = arrivals.Where(a => a.Domain == "slow.test").Select(a => a.At).Order().ToList();
        var fastTimes = arrivals.Where(a => a.Domain == "fast.test").Select(a => a.At).Order().ToList();
        Assert.Equal(30, slowTimes.Count);
        Assert.Equal(30, fastTimes.Count);
        TimeSpan slowSpan = slowTimes[^1] - slowTimes[0];
        output.WriteLine($"slow.test: first {slowTimes[0]}, last {slowTimes[^1]} ({slowSpan.TotalSeconds:F2} s); fast.test: last {fastTimes[^1]}");
        // 30 messages at 10/s with a burst of 1: 29 intervals of 100 ms.
        Assert.True(slowSpan >= TimeSpan.FromSeconds(2.5), $"30 messages to slow.test arrived within {slowSpan.TotalSeconds:F2} s");
        Assert.True(fastTimes[^1] < slowTimes[^1] - TimeSpan.FromSeconds(0.5),
            $"fast.test finished at {fastTimes[^1]}, slow.test at {slowTimes[^1]}: the slow rule held the other domain back");
    }

    [Fact]
    public async Task Max_connections_and_messages_per_connection_of_a_rule_are_observed_at_the_sink()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink,
            "Mta:Shaping:Rules:one:Domains=one.test", "Mta:Shaping:Rules:one:MaxConnections=1", "Mta:Shaping:Rules:one:MaxMessagesPerConnection=5");

        await SendAsync(relay, Recipients("one.test", 20));

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(20, Wait);
        var perConnection = messages.GroupBy(m => m.ConnectionNumber).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{sink.ConnectionCount} connection(s): {string.Join(", ", perConnection.Select(p => $"#{p.Key}={p.Value}"))}");
        Assert.True(sink.ConnectionCount >= 4, $"20 messages at 5 per connection came over {sink.ConnectionCount} connection(s)");
        Assert.All(perConnection, p => Assert.InRange(p.Value, 1, 5));

        // One connection at a time: once a later connection has carried a message, an earlier one carries no more.
        int latest = 0;
        foreach (SinkMessage message in messages)
        {
            Assert.True(message.ConnectionNumber >= latest,
                $"connection #{message.ConnectionNumber} delivered after connection #{latest} had started: two connections were open at once");
            latest = message.ConnectionNumber;
        }
    }

    [Fact]
    public async Task ConnectionsPerMinute_counts_connections_opened_not_messages_sent_over_a_pooled_one()
    {
        await using var sink = new LoopbackSmtpSink();
        // One new connection a minute: ten messages can only arrive within the test's wait if they share one.
        await using ServerProcess relay = await StartRelayAsync(sink,
            "Mta:Shaping:Rules:once:Domains:0=dest.test", "Mta:Shaping:Rules:once:ConnectionsPerMinute=1",
            "Mta:Shaping:Rules:once:MaxConnections=1", "Mta:Shaping:Rules:once:MaxMessagesPerConnection=100");

        await SendAsync(relay, Recipients("dest.test", 10));

        IReadOnlyList<SinkMessage> messages = await sink.WaitForMessagesAsync(10, Wait);
        Assert.Single(messages.Select(m => m.ConnectionNumber).Distinct());
        Assert.Equal(1, sink.ConnectionCount);
    }

    [Fact]
    public async Task The_admin_API_shows_the_shaping_state_and_a_suspended_source_opens_no_connections_until_resumed()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink,
        [
            .. TwoSources(1, 1), "Mta:Shaping:Default:MaxMessagesPerConnection=1",
            "Mta:Shaping:Rules:dest:Domains=dest.test", "Mta:Shaping:Rules:dest:MessagesPerMinute=6000", "Mta:Shaping:Rules:dest:MaxMessagesPerConnection=1",
        ]);

        (HttpStatusCode unknown, _) = await PostAsync(relay, "api/v1/sources/nosuch/suspend");
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        (HttpStatusCode suspended, string body) = await PostAsync(relay, "api/v1/sources/a/suspend");
        Assert.True(suspended == HttpStatusCode.OK, body);

        JsonNode state = await GetJsonAsync(relay, "api/v1/shaping");
        output.WriteLine(state.ToJsonString());
        Assert.Equal(["a"], state["suspendedSources"]!.AsArray().Select(n => (string)n!));
        Assert.Contains("dest", state["rules"]!.AsArray().Select(n => (string)n!));
        Assert.Contains(state["sources"]!.AsArray(), s => (string)s!["name"]! == "b" && (string)s["address"]! == "127.0.0.3");

        await SendAsync(relay, Recipients("dest.test", 10));
        IReadOnlyList<SinkMessage> first = await sink.WaitForMessagesAsync(10, Wait);
        Assert.All(first, m => Assert.Equal(SourceB, m.Peer.Address));

        state = await GetJsonAsync(relay, "api/v1/shaping");
        output.WriteLine(state.ToJsonString());
        JsonArray states = state["states"]!.AsArray();
        Assert.Equal(states.Count, (int)state["activeStates"]!);
        Assert.Contains(states, s => (string)s!["source"]! == "b" && (string)s["rule"]! == "dest" && (double?)s["messagesPerSecond"] == 100);

        (HttpStatusCode resumed, body) = await PostAsync(relay, "api/v1/sources/a/resume");
        Assert.True(resumed == HttpStatusCode.OK, body);
        Assert.Empty((await GetJsonAsync(relay, "api/v1/shaping"))["suspendedSources"]!.AsArray());

        await SendAsync(relay, Recipients("dest.test", 10));
        IReadOnlyList<SinkMessage> all = await sink.WaitForMessagesAsync(20, Wait);
        int fromA = all.Skip(10).Count(m => m.Peer.Address.Equals(SourceA));
        output.WriteLine($"after resume: {fromA} of 10 from 127.0.0.2");
        Assert.InRange(fromA, 3, 7);
    }

    [Fact]
    public async Task The_CLI_shows_the_shaping_state_and_suspends_and_resumes_a_source()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink, [.. TwoSources(1, 1), "Mta:Shaping:Rules:dest:Domains=dest.test",
            "Mta:Shaping:Rules:dest:MessagesPerSecond=50"]);
        await SendAsync(relay, Recipients("dest.test", 4));
        await sink.WaitForMessagesAsync(4, Wait);

        (int code, string stdout, _) = await RunCliAsync(relay, "source", "suspend", "b", "--duration", "01:00:00");
        Assert.Equal(0, code);
        Assert.Contains("Suspended source b until ", stdout);

        (code, stdout, _) = await RunCliAsync(relay, "shaping");
        Assert.Equal(0, code);
        string[] lines = stdout.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains(lines, l => l.StartsWith("a ", StringComparison.Ordinal) && l.Contains("127.0.0.2") && l.EndsWith(" no", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("b ", StringComparison.Ordinal) && l.Contains("127.0.0.3") && l.Contains("(in 59m"));
        Assert.Contains("Rules: default, dest", stdout);
        Assert.Contains(lines, l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^a\s+dest\s+dest\s+50\s"));

        (code, _, string stderr) = await RunCliAsync(relay, "source", "resume", "nosuch");
        Assert.Equal(1, code);
        Assert.Contains("No egress source named nosuch", stderr);
        (code, stdout, _) = await RunCliAsync(relay, "source", "resume", "b");
        Assert.Equal(0, code);
        Assert.Contains("Resumed source b.", stdout);
        Assert.Empty((await GetJsonAsync(relay, "api/v1/shaping"))["suspendedSources"]!.AsArray());
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunCliAsync(ServerProcess server, params string[] args)
    {
        CliResult result = await CliProcess.RunAsync(server, output, args);
        return (result.ExitCode, result.Stdout, result.Stderr);
    }

    [Fact]
    public void Shaping_settings_are_bound_validated_and_reloaded()
    {
        static IConfigurationRoot Config(params (string Key, string Value)[] values) => new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

        // Nothing configured: the delivery settings' limits, one unbound source.
        MtaSettings plain = ServerConfiguration.Load(Config(("Mta:Delivery:MaxConnectionsPerDestination", "7"), ("Mta:Delivery:MessagesPerConnection", "9")));
        Assert.Empty(plain.Shaping.Options.Sources);
        Assert.Empty(plain.Shaping.Options.Rules);
        Assert.Equal((7, 9, 100, (int?)null), (plain.Shaping.Options.DefaultRule.MaxConnections, plain.Shaping.Options.DefaultRule.MaxMessagesPerConnection,
            plain.Shaping.Options.DefaultRule.MaxRecipientsPerTransaction, plain.Shaping.Options.DefaultRule.MessagesPerSecond));

        IConfigurationRoot config = Config(
            ("Mta:Hostname", "mta.example.com"),
            ("Mta:Egress:Sources:ip1:Address", "192.0.2.10"),
            ("Mta:Egress:Sources:ip2:Address", "192.0.2.11"), ("Mta:Egress:Sources:ip2:EhloName", "mta2.example.com"),
            ("Mta:Egress:Sources:ip2:Warmup:StartDate", "2026-12-01"), ("Mta:Egress:Sources:ip2:Warmup:DailyCaps", "200, 500,1000"),
            ("Mta:Egress:Sources:ip2:Warmup:HourlyCaps", "20,50"), ("Mta:Egress:Sources:ip2:Warmup:RuleHourlyCaps:gmail", "5"),
            ("Mta:Egress:Sources:ip2:Warmup:RuleCaps:gmail:0", "50"), ("Mta:Egress:Sources:ip2:Warmup:RuleCaps:gmail:1", "100"),
            ("Mta:Egress:Pools:default:ip1", "3"), ("Mta:Egress:Pools:default:ip2", "1"), ("Mta:Egress:Pools:tx:ip1", "1"),
            ("Mta:Egress:SenderDomainPools:billing.example.com", "tx"),
            ("Mta:Shaping:Default:MessagesPerSecond", "20"),
            ("Mta:Shaping:Rules:gmail:MxSuffixes:0", ".google.com"), ("Mta:Shaping:Rules:gmail:MxSuffixes:1", ".googlemail.com"),
            ("Mta:Shaping:Rules:gmail:MessagesPerSecond", "10"), ("Mta:Shaping:Rules:gmail:Burst", "20"), ("Mta:Shaping:Rules:gmail:MaxConnections", "4"),
            ("Mta:Shaping:Rules:corp:DomainSuffixes", ".example.org"), ("Mta:Shaping:Rules:corp:PerDomain", "true"),
            ("Mta:Shaping:Rules:corp:SourceTotal:MessagesPerSecond", "50"), ("Mta:Shaping:Rules:corp:SourceTotal:MaxConnections", "20"));
        MtaSettings settings = ServerConfiguration.Load(config);
        ShapingOptions options = settings.Shaping.Options;
        Assert.Equal(["ip1", "ip2"], options.Sources.Select(s => s.Name));
        Assert.Equal(("192.0.2.10", "mta.example.com"), (options.Sources[0].Address!.ToString(), options.Sources[0].EhloName));
        Assert.Equal("mta2.example.com", options.Sources[1].EhloName);
        WarmupPlan plan = options.Sources[1].Warmup!;
        Assert.Equal(new DateOnly(2026, 12, 1), plan.StartDate);
        Assert.Equal([200, 500, 1000], plan.DailyCaps);
        Assert.Equal([50, 100], plan.RuleCaps["gmail"]);
        Assert.Equal([20, 50], plan.HourlyCaps);
        Assert.Equal([5], plan.RuleHourlyCaps["gmail"]);
        EgressPool pool = options.Pools.Single(p => p.Name == "default");
        Assert.Equal([("ip1", 3), ("ip2", 1)], pool.Members.Select(m => (m.SourceName, m.Weight)));
        Assert.Equal("tx", options.SenderDomainPools["billing.example.com"]);
        ShapingRule gmail = options.Rules.Single(r => r.Name == "gmail");
        Assert.Equal([".google.com", ".googlemail.com"], gmail.Match.MxSuffixes);
        Assert.Equal((10, 20, 4, (int?)null), (gmail.MessagesPerSecond, gmail.Burst, gmail.MaxConnections, gmail.MaxMessagesPerConnection));
        ShapingRule corp = options.Rules.Single(r => r.Name == "corp");
        Assert.True(corp.PerDomain);
        Assert.Equal((50, 20), (corp.SourceTotal!.MessagesPerSecond, corp.SourceTotal.MaxConnections));
        Assert.Equal(20, options.DefaultRule.MessagesPerSecond);
        using (var shaper = new TrafficShaper(options, TestMeters.Create()))
        {
            Assert.Equal("gmail", shaper.Match("example.net", "alt1.aspmx.l.google.com,aspmx.l.google.com").Name);
            Assert.Equal("tx", shaper.ChoosePool(null, null, "billing.example.com"));
        }

        // Reload reads the section again (the host name stays the start-up one).
        config["Mta:Shaping:Rules:gmail:MessagesPerSecond"] = "3";
        Assert.Equal(3, settings.ReloadShaping(config).Options.Rules.Single(r => r.Name == "gmail").MessagesPerSecond);
        config["Mta:Shaping:Rules:gmail:MxSuffixes:0"] = "google.com";
        InvalidOperationException reload = Assert.Throws<InvalidOperationException>(() => settings.ReloadShaping(config));
        Assert.StartsWith("Mta:Shaping:Rules:gmail:MxSuffixes", reload.Message);

        foreach ((string key, string value, string named) in new[]
                 {
                     ("Mta:Egress:Sources:a:Address", "not-an-ip", "Mta:Egress:Sources:a:Address"),
                     ("Mta:Egress:Sources:a:Warmup:StartDate", "01/12/2026", "Mta:Egress:Sources:a:Warmup:StartDate"),
                     ("Mta:Egress:Pools:p:nosuch", "1", "Mta:Egress:Pools:p"),
                     ("Mta:Egress:SenderDomainPools:x.test", "nosuch", "Mta:Egress:SenderDomainPools:x.test"),
                     ("Mta:Shaping:Rules:r:MessagesPerSecond", "10", "Mta:Shaping:Rules:r"), // no match
                     ("Mta:Shaping:Rules:r:Domains", ".x.test", "Mta:Shaping:Rules:r:Domains"),
                     ("Mta:Shaping:Default:Burst", "0", "Mta:Shaping:Default:Burst"),
                     ("Mta:Shaping:Default:MaxConnections", "many", "Mta:Shaping:Default:MaxConnections"),
                 })
        {
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ServerConfiguration.Load(Config((key, value))));
            Assert.StartsWith(named, e.Message);
        }
    }
}
