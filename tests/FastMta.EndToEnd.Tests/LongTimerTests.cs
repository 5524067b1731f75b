using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Due times beyond what a timer takes (System.Threading.Timer and Task.Delay refuse more than 2^32-2 ms, 49.7 days):
// long suspensions and retry delays must neither stop delivery nor the server's clean shutdown; absurd durations are
// refused with 400 and stored nowhere; a scheduler loop that fails anyway is reported in /health, counted, restarted
// with backoff and heals. Each test runs a real server process delivering to a loopback sink.
public sealed partial class LongTimerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private Task<ServerProcess> StartRelayAsync(LoopbackSmtpSink sink, string[] settings, string? spoolPath = null) =>
        ServerProcess.StartAsync(["Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}", .. settings], spoolPath, output);

    private static async Task<string> SendAsync(ServerProcess server, string recipient, string sender = "alice@sender.test")
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        return await client.SendMessageAsync(sender, [recipient], MessageContent.Simple(sender, recipient, "long timers", "hello\r\n"));
    }

    private static async Task<(HttpStatusCode Status, string? ContentType, string Body)> RequestAsync(ServerProcess server, HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{server.HttpPort}/{path}");
        using HttpResponseMessage response = await Http.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonNode> GetJsonAsync(ServerProcess server, string path)
    {
        (HttpStatusCode status, _, string body) = await RequestAsync(server, HttpMethod.Get, path);
        Assert.True(status == HttpStatusCode.OK, $"GET {path}: {(int)status} {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task AssertHealthyAsync(ServerProcess server)
    {
        (HttpStatusCode status, _, string body) = await RequestAsync(server, HttpMethod.Get, "health");
        if (status != HttpStatusCode.OK)
        {
            throw server.Failure($"/health answered {(int)status}: {body}");
        }
    }

    private static async Task<double> LoopFailuresAsync(ServerProcess server, string loop)
    {
        (_, _, string text) = await RequestAsync(server, HttpMethod.Get, "metrics");
        Match m = Regex.Match(text, $@"^fastmta_queue_loop_failures_total\{{[^}}]*loop=""{loop}""[^}}]*\}} (\S+)", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [Fact]
    public async Task A_destination_suspended_for_50_days_with_the_CLI_does_not_stop_delivery_to_other_domains()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink, []);

        CliResult suspended = await CliProcess.RunAsync(relay, output, "suspend", "far.test", "--duration", "50.00:00:00");
        Assert.True(suspended.ExitCode == 0, suspended.ToString());
        Assert.Contains("Suspended far.test until", suspended.Stdout);

        await SendAsync(relay, "bob@far.test");
        await SendAsync(relay, "carol@near.test");

        SinkMessage delivered = Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        Assert.Equal(["carol@near.test"], delivered.Recipients);
        JsonNode until = (await GetJsonAsync(relay, "api/v1/destinations/suspended")).AsArray().Single()!;
        Assert.Equal("far.test", (string)until["domain"]!);
        Assert.InRange(DateTimeOffset.Parse((string)until["until"]!, CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow,
            TimeSpan.FromDays(49.9), TimeSpan.FromDays(50.1));
        await AssertHealthyAsync(relay);

        // Resumed, the held message goes too: the scheduler is alive.
        CliResult resumed = await CliProcess.RunAsync(relay, output, "resume", "far.test");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(2, (await sink.WaitForMessagesAsync(2, Wait)).Count);
        await relay.StopGracefullyAsync();
    }

    [Fact]
    public async Task A_source_suspended_for_50_days_through_the_API_holds_its_mail_and_releases_it_when_resumed()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink, []);

        (HttpStatusCode status, _, string body) = await RequestAsync(relay, HttpMethod.Post, "api/v1/sources/default/suspend?duration=50.00:00:00");
        Assert.True(status == HttpStatusCode.OK, body);
        await SendAsync(relay, "bob@dest.test");

        // The destination is held by shaping until the suspension's end, 50 days out.
        var waited = Stopwatch.StartNew();
        JsonNode? destination = null;
        while (waited.Elapsed < Wait)
        {
            destination = (await GetJsonAsync(relay, "api/v1/destinations")).AsArray().SingleOrDefault(d => (string)d!["domain"]! == "dest.test");
            if (destination?["shapedUntil"] is JsonValue)
            {
                break;
            }
            await Task.Delay(200);
        }
        Assert.True(destination?["shapedUntil"] is JsonValue, $"dest.test is not shaped: {destination?.ToJsonString()}");
        Assert.InRange(DateTimeOffset.Parse((string)destination!["shapedUntil"]!, CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow,
            TimeSpan.FromDays(49.9), TimeSpan.FromDays(50.1));
        await AssertHealthyAsync(relay);
        Assert.Empty(sink.Messages);

        (status, _, body) = await RequestAsync(relay, HttpMethod.Post, "api/v1/sources/default/resume");
        Assert.True(status == HttpStatusCode.OK, body);
        Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        await relay.StopGracefullyAsync();
    }

    [Fact]
    public async Task Retry_delays_and_a_lifetime_beyond_49_7_days_defer_without_stopping_delivery_also_after_a_restart()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            RcptReply = r => r.Address.EndsWith("@grey.test", StringComparison.Ordinal) ? "451 4.2.1 try again much later" : null,
        });
        string[] settings = ["Mta:Queue:RetrySchedule=60.00:00:00", "Mta:Queue:MaxAge=90.00:00:00"];
        await using ServerProcess relay = await StartRelayAsync(sink, settings);

        string deferredId = await SendAsync(relay, "bob@grey.test");
        await DeliveryLogReader.WaitAsync(relay, e => e.Any(x => x.Type == "TransientFailure"), "the first attempt is deferred");
        await SendAsync(relay, "carol@ok.test");
        Assert.Equal(["carol@ok.test"], Assert.Single(await sink.WaitForMessagesAsync(1, Wait)).Recipients);

        JsonNode message = await GetJsonAsync(relay, $"api/v1/queue/messages/{deferredId}");
        JsonNode recipient = message["recipients"]!.AsArray().Single()!;
        Assert.Equal("deferred", (string)recipient["status"]!);
        Assert.InRange(DateTimeOffset.Parse((string)recipient["nextAttempt"]!, CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow,
            TimeSpan.FromDays(59.9), TimeSpan.FromDays(60.1));
        await AssertHealthyAsync(relay);
        await relay.StopGracefullyAsync();

        // The deferred recipient is rebuilt from the spool with its 60-day due time: the new process delivers too.
        await using ServerProcess restarted = await StartRelayAsync(sink, settings, relay.SpoolPath);
        await SendAsync(restarted, "dave@ok.test");
        Assert.Equal(["dave@ok.test"], (await sink.WaitForMessagesAsync(2, Wait))[1].Recipients);
        await AssertHealthyAsync(restarted);
        var waited = Stopwatch.StartNew(); // the delivered message leaves the queue once its outcome is recorded
        while ((int)(await GetJsonAsync(restarted, "api/v1/queue"))["messages"]! != 1 && waited.Elapsed < Wait)
        {
            await Task.Delay(100);
        }
        Assert.Equal(1, (int)(await GetJsonAsync(restarted, "api/v1/queue"))["messages"]!); // only the deferred one
        await restarted.StopGracefullyAsync();
    }

    [Theory]
    [InlineData("10675199.02:48:05.4775807")] // TimeSpan.MaxValue
    [InlineData("3650.00:00:00")] // beyond the longest timed suspension
    [InlineData("-01:00:00")]
    [InlineData("00:00:00")]
    [InlineData("abc")]
    public async Task An_absurd_suspension_duration_gets_400_with_problem_details_and_nothing_is_stored(string duration)
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink, []);
        string query = Uri.EscapeDataString(duration);

        foreach (string path in (string[])[$"api/v1/destinations/dest.test/suspend?duration={query}", $"api/v1/sources/default/suspend?duration={query}"])
        {
            (HttpStatusCode status, string? type, string body) = await RequestAsync(relay, HttpMethod.Post, path);
            output.WriteLine($"POST {path}: {(int)status} {type} {body}");
            Assert.True(status == HttpStatusCode.BadRequest, $"POST {path}: {(int)status} {body}");
            Assert.Equal("application/problem+json", type);
            Assert.Contains("duration", body);
        }

        Assert.Empty((await GetJsonAsync(relay, "api/v1/destinations/suspended")).AsArray());
        Assert.Empty((await GetJsonAsync(relay, "api/v1/shaping"))["suspendedSources"]!.AsArray());
        await AssertHealthyAsync(relay);
        await SendAsync(relay, "bob@dest.test");
        Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        await relay.StopGracefullyAsync();
    }

    [Theory]
    [InlineData("Mta:Queue:MaxAge", "366.00:00:00", "365.00:00:00")]
    [InlineData("Mta:Queue:MaxAge", "10675199.02:48:05.4775807", "365.00:00:00")]
    [InlineData("Mta:Queue:RetrySchedule", "00:05:00,400.00:00:00", "365")]
    [InlineData("Mta:Limits:CommandTimeout", "60.00:00:00", "1.00:00:00")]
    [InlineData("Mta:Delivery:IdleTimeout", "50.00:00:00", "1.00:00:00")]
    public async Task A_duration_setting_beyond_its_bound_stops_start_up_with_the_key_named(string key, string value, string bound)
    {
        ToolResult result = await InvalidConfiguration.StartUpFailsAsync($"{key}={value}");
        Assert.Contains(key, result.Stderr);
        Assert.Contains(bound, result.Stderr);
    }

    [Fact]
    public async Task The_CLI_reports_the_servers_refusal_of_an_absurd_duration_and_nothing_is_suspended()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink, []);

        CliResult destination = await CliProcess.RunAsync(relay, output, "suspend", "dest.test", "--duration", "10675199.02:48:05");
        Assert.True(destination.ExitCode == 1, destination.ToString());
        Assert.Contains("duration", destination.Stderr);
        CliResult source = await CliProcess.RunAsync(relay, output, "source", "suspend", "default", "--duration", "10675199.02:48:05");
        Assert.True(source.ExitCode == 1, source.ToString());
        Assert.Contains("duration", source.Stderr);

        CliResult list = await CliProcess.RunAsync(relay, output, "suspended");
        Assert.Equal((0, "No domain is suspended."), (list.ExitCode, list.Stdout.Trim()));
        Assert.Empty((await GetJsonAsync(relay, "api/v1/shaping"))["suspendedSources"]!.AsArray());
        await relay.StopGracefullyAsync();
    }

    [Fact]
    public async Task A_failing_scheduler_loop_is_reported_in_health_counted_restarted_and_heals()
    {
        await using var sink = new LoopbackSmtpSink();
        // Test hook: the scheduler's next 4 passes with mail in the queue throw (0.5 + 1 + 2 + 4 s of backoff).
        await using ServerProcess relay = await StartRelayAsync(sink, ["Mta:Testing:SchedulerFaults=4"]);

        await SendAsync(relay, "bob@dest.test");

        string? reason = null;
        var waited = Stopwatch.StartNew();
        while (reason is null && waited.Elapsed < Wait)
        {
            (HttpStatusCode status, _, string body) = await RequestAsync(relay, HttpMethod.Get, "health");
            if (status == HttpStatusCode.ServiceUnavailable)
            {
                reason = body;
            }
            await Task.Delay(100);
        }
        output.WriteLine($"/health while failed: {reason}");
        Assert.NotNull(reason);
        Assert.Contains("scheduler", reason);
        Assert.Contains("Injected scheduler fault", reason);

        // Healed: the message accepted while the loop was down is delivered, /health is ok again.
        Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        waited.Restart();
        while ((await relay.GetHealthAsync())?.StatusCode != 200 && waited.Elapsed < Wait)
        {
            await Task.Delay(200);
        }
        await AssertHealthyAsync(relay);
        Assert.Equal(4, await LoopFailuresAsync(relay, "scheduler"));
        Assert.Contains("The queue scheduler loop failed", relay.Log);
        Assert.Contains("InvalidOperationException: Injected scheduler fault", relay.Log);
        await relay.StopGracefullyAsync();
    }

    [Fact]
    public async Task A_scheduler_loop_that_keeps_failing_backs_off_instead_of_spinning_and_the_server_still_stops_cleanly()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync(sink, ["Mta:Testing:SchedulerFaults=1000000"]);

        await SendAsync(relay, "bob@dest.test");
        await Task.Delay(TimeSpan.FromSeconds(10));

        // Restarts after 0.5, 1, 2, 4, 8 s ...: about 5 failures in 10 s; a loop that spins would count thousands.
        double failures = await LoopFailuresAsync(relay, "scheduler");
        output.WriteLine($"{failures} scheduler failures in 10 s");
        Assert.InRange(failures, 2, 8);
        Assert.Equal(503, (await relay.GetHealthAsync())?.StatusCode);
        Assert.Empty(sink.Messages);
        await relay.StopGracefullyAsync();
    }

    [Fact]
    public async Task A_delivery_log_writer_that_fails_is_restarted_and_writes_the_events_after_it()
    {
        await using var sink = new LoopbackSmtpSink();
        // Test hook: the writer throws on each event of this sender (its Reception and its Delivery).
        await using ServerProcess relay = await StartRelayAsync(sink, ["Mta:Testing:DeliveryLogFaultSender=poison@sender.test"]);

        await SendAsync(relay, "bob@dest.test", sender: "poison@sender.test");
        Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        await SendAsync(relay, "carol@dest.test");
        Assert.Equal(2, (await sink.WaitForMessagesAsync(2, Wait)).Count);

        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(relay,
            e => e.Any(x => x.Type == "Delivery" && x.Recipient == "carol@dest.test"), "the restarted writer logs the next delivery");
        Assert.DoesNotContain(log, e => e.Sender == "poison@sender.test");
        Assert.Equal(2, await LoopFailuresAsync(relay, "delivery_log"));
        Assert.Contains("The delivery log writer loop failed", relay.Log);
        var waited = Stopwatch.StartNew();
        while ((await relay.GetHealthAsync())?.StatusCode != 200 && waited.Elapsed < Wait)
        {
            await Task.Delay(200);
        }
        await AssertHealthyAsync(relay);
        await relay.StopGracefullyAsync();
    }
}
