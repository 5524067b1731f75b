using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The `fastmta` CLI as an operator runs it (`dotnet fastmta.dll ...`, a separate process) against a real server over
// HTTP. Mail to slow.test gets 451 at the sink and the retry schedule is an hour, so it stays deferred while the
// commands look at it and act on it.
public sealed class CliTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private static LoopbackSmtpSink SlowSink() =>
        new(new LoopbackSmtpSinkOptions { RcptReply = r => r.Address.EndsWith("@slow.test", StringComparison.Ordinal) ? "451 4.7.1 try later" : null });

    private Task<ServerProcess> StartRelayAsync(LoopbackSmtpSink sink, params string[] settings) =>
        ServerProcess.StartAsync(["Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}", "Mta:Queue:RetrySchedule=01:00:00", .. settings],
            output: output);

    [Fact]
    public async Task Queue_messages_and_message_show_deferred_mail_as_tables_and_as_json_and_retry_makes_it_due()
    {
        await using LoopbackSmtpSink sink = SlowSink();
        await using ServerProcess server = await StartRelayAsync(sink);
        string first = await SendAsync(server, "alice@sender.test", ["bob@slow.test", "carol@fast.test"]);
        string second = await SendAsync(server, "alice@sender.test", ["dave@slow.test"]);
        await sink.WaitForMessagesAsync(1, Wait); // carol's copy
        await WaitForQueueAsync(server, q => q.GetProperty("deferred").GetInt32() == 2, "both slow.test recipients deferred");

        CliResult queue = await RunAsync(server, "queue");
        Assert.Equal(0, queue.ExitCode);
        Assert.Contains("2 messages queued; recipients: 0 pending, 0 in flight, 2 deferred; 1 destination", queue.Stdout);
        string[] lines = queue.Lines;
        int header = Array.FindIndex(lines, l => l.StartsWith("domain", StringComparison.Ordinal));
        Assert.True(header > 0, queue.ToString());
        Assert.Equal(["domain", "messages", "pending", "in flight", "deferred", "active", "next attempt", "suspended until"],
            lines[header].Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Matches(@"^slow\.test\s+2\s+0\s+0\s+2\s+0\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in \d+m \d+s\)\s+-$", lines[header + 1]);

        CliResult json = await RunAsync(server, "queue", "--json");
        Assert.Equal(0, json.ExitCode);
        using (JsonDocument summary = JsonDocument.Parse(json.Stdout))
        {
            Assert.Equal(2, summary.RootElement.GetProperty("messages").GetInt32());
            Assert.Equal(2, summary.RootElement.GetProperty("deferred").GetInt32());
            JsonElement slow = Assert.Single(summary.RootElement.GetProperty("destinations").EnumerateArray());
            Assert.Equal("slow.test", slow.GetProperty("domain").GetString());
            Assert.Contains('\n', json.Stdout.Trim()); // indented
        }

        CliResult messages = await RunAsync(server, "messages", "--domain", "slow.test");
        Assert.Equal(0, messages.ExitCode);
        Assert.Contains(messages.Lines, l => l.StartsWith(first, StringComparison.Ordinal) && l.Contains("alice@sender.test") && l.Contains("1 deferred, 1 delivered"));
        Assert.Contains(messages.Lines, l => l.StartsWith(second, StringComparison.Ordinal) && l.Contains("1 deferred"));
        CliResult limited = await RunAsync(server, "messages", "--limit", "1", "--json");
        Assert.Equal(first, Assert.Single(JsonDocument.Parse(limited.Stdout).RootElement.EnumerateArray()).GetProperty("id").GetString());

        CliResult message = await RunAsync(server, "message", first);
        Assert.Equal(0, message.ExitCode);
        Assert.Contains($"id:        {first}", message.Stdout);
        Assert.Contains("pool:      default", message.Stdout);
        Assert.Contains(message.Lines, l => l.StartsWith("bob@slow.test", StringComparison.Ordinal) && l.Contains("deferred") && l.Contains(" 1 "));
        Assert.Contains(message.Lines, l => l.StartsWith("carol@fast.test", StringComparison.Ordinal) && l.Contains("delivered"));

        CliResult missing = await RunAsync(server, "message", "NOSUCHID");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("404", missing.Stderr);
        Assert.Contains("No live message with id NOSUCHID.", missing.Stderr);

        CliResult retry = await RunAsync(server, "retry", "--domain", "slow.test");
        Assert.Equal(0, retry.ExitCode);
        Assert.Contains("2 deferred recipients for slow.test made due now.", retry.Stdout);
        // Due now: both are tried again (and deferred again by the sink) well before the hour-long retry schedule.
        await WaitForAsync(server, $"api/v1/queue/messages/{first}", m => Attempts(m, "bob@slow.test") == 2, "bob@slow.test retried");
    }

    [Fact]
    public async Task Suspend_shows_in_suspended_and_queue_until_resumed()
    {
        await using LoopbackSmtpSink sink = SlowSink();
        await using ServerProcess server = await StartRelayAsync(sink);

        CliResult none = await RunAsync(server, "suspended");
        Assert.Equal((0, "No domain is suspended."), (none.ExitCode, none.Stdout.Trim()));

        CliResult timed = await RunAsync(server, "suspend", "Slow.Test", "--duration", "01:00:00");
        Assert.Equal(0, timed.ExitCode);
        Assert.Matches(@"^Suspended slow\.test until \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in (59m|1h 0m)", timed.Stdout);
        CliResult open = await RunAsync(server, "suspend", "other.test");
        Assert.Contains("Suspended other.test until resumed", open.Stdout);

        CliResult list = await RunAsync(server, "suspended");
        Assert.Equal(0, list.ExitCode);
        Assert.Matches(@"other\.test\s+until resumed", list.Stdout);
        Assert.Matches(@"slow\.test\s+\d{4}-", list.Stdout);
        CliResult queue = await RunAsync(server, "queue");
        Assert.Contains(queue.Lines, l => l.StartsWith("other.test", StringComparison.Ordinal) && l.EndsWith("until resumed", StringComparison.Ordinal));

        CliResult resumed = await RunAsync(server, "resume", "other.test");
        Assert.Equal((0, "Resumed other.test."), (resumed.ExitCode, resumed.Stdout.Trim()));
        CliResult again = await RunAsync(server, "resume", "other.test");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("other.test is not suspended.", again.Stderr);
        using JsonDocument after = JsonDocument.Parse((await RunAsync(server, "suspended", "--json")).Stdout);
        Assert.Equal("slow.test", Assert.Single(after.RootElement.EnumerateArray()).GetProperty("domain").GetString());

        CliResult badDuration = await RunAsync(server, "suspend", "slow.test", "--duration", "soon");
        Assert.Equal(2, badDuration.ExitCode);
        Assert.Contains("--duration", badDuration.Stderr);
    }

    [Fact]
    public async Task Bounce_with_yes_fails_the_domains_mail_and_the_senders_get_DSNs()
    {
        await using LoopbackSmtpSink sink = SlowSink(); // sender.test routes to the sink too, so it receives the DSNs
        await using ServerProcess server = await StartRelayAsync(sink);
        await SendAsync(server, "alice@sender.test", ["bob@slow.test"]);
        await SendAsync(server, "alice@sender.test", ["dave@slow.test", "erin@slow.test"]);
        await WaitForQueueAsync(server, q => q.GetProperty("deferred").GetInt32() == 3, "three slow.test recipients deferred");

        CliResult refused = await RunAsync(server, "bounce", "slow.test");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--yes", refused.Stderr);
        Assert.Contains("send a DSN to each sender", refused.Stderr);

        CliResult bounce = await RunAsync(server, "bounce", "slow.test", "--reason", "mailbox migration", "--yes");
        Assert.Equal(0, bounce.ExitCode);
        Assert.Contains("Bounced 3 recipients in 2 messages for slow.test; DSNs queued to the senders.", bounce.Stdout);
        Assert.Equal("", bounce.Stderr); // redirected stderr: no spinner

        IReadOnlyList<SinkMessage> dsns = await sink.WaitForMessagesAsync(2, Wait);
        Assert.All(dsns, d => Assert.Equal(("", "alice@sender.test"), (d.Sender, Assert.Single(d.Recipients))));
        await WaitForQueueAsync(server, q => q.GetProperty("messages").GetInt32() == 0, "the queue empties");
        CliResult queue = await RunAsync(server, "queue");
        Assert.StartsWith("0 messages queued; recipients: 0 pending, 0 in flight, 0 deferred; 0 destinations", queue.Stdout);
    }

    [Fact]
    public async Task Delete_refuses_without_yes_and_with_yes_removes_the_mail_silently()
    {
        await using LoopbackSmtpSink sink = SlowSink();
        await using ServerProcess server = await StartRelayAsync(sink);
        await SendAsync(server, "alice@sender.test", ["bob@slow.test"]);
        await WaitForQueueAsync(server, q => q.GetProperty("deferred").GetInt32() == 1, "bob@slow.test deferred");

        CliResult refused = await RunAsync(server, "delete", "slow.test");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("refusing to delete without --yes", refused.Stderr);
        Assert.Contains("no DSN", refused.Stderr);
        Assert.Equal("", refused.Stdout);
        await WaitForQueueAsync(server, q => q.GetProperty("deferred").GetInt32() == 1, "nothing was deleted");

        CliResult delete = await RunAsync(server, "delete", "slow.test", "--yes", "--json");
        Assert.Equal(0, delete.ExitCode);
        using (JsonDocument outcome = JsonDocument.Parse(delete.Stdout))
        {
            Assert.Equal((1, 1, 0), (outcome.RootElement.GetProperty("messages").GetInt32(), outcome.RootElement.GetProperty("recipients").GetInt32(),
                outcome.RootElement.GetProperty("skippedInFlight").GetInt32()));
        }

        await WaitForQueueAsync(server, q => q.GetProperty("messages").GetInt32() == 0, "the queue empties");
        CliResult nothing = await RunAsync(server, "delete", "slow.test", "--yes");
        Assert.Equal((0, "Deleted 0 recipients in 0 messages for slow.test."), (nothing.ExitCode, nothing.Stdout.Trim()));
        Assert.Empty(sink.Messages); // no DSN
    }

    [Fact]
    public async Task An_unreachable_server_exits_3_naming_the_URL()
    {
        string url = $"http://{LoopbackSmtpSink.UnusedEndPoint(System.Net.IPAddress.Loopback)}";
        CliResult result = await RunAsync(url, "queue");
        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"cannot connect to {url}/", result.Stderr);
        Assert.Contains("connection refused", result.Stderr);
        Assert.Equal("", result.Stdout);

        CliResult badUrl = await RunAsync("not a url", "queue");
        Assert.Equal(2, badUrl.ExitCode);
        CliResult noCommand = await RunAsync(url);
        Assert.Equal(2, noCommand.ExitCode);
    }

    [Fact]
    public async Task A_server_with_delivery_disabled_answers_503_and_the_CLI_exits_1_with_its_detail()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output); // delivery off by default
        CliResult result = await RunAsync(server, "queue");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("503", result.Stderr);
        Assert.Contains("Delivery is disabled (Mta:Delivery:Enabled=false): there is no live queue.", result.Stderr);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task Send_injects_a_composed_message_and_an_eml_file_over_the_HTTP_API()
    {
        await using LoopbackSmtpSink sink = SlowSink();
        await using ServerProcess server = await StartRelayAsync(sink);

        CliResult composed = await RunAsync(server, "send", "--from", "alice@sender.test", "--to", "bob@slow.test", "--to", "carol@fast.test",
            "--subject", "From the CLI", "--text", "Composed by the server.");
        Assert.Equal(0, composed.ExitCode);
        string id = Assert.Single(Regex.Match(composed.Stdout, @"^Queued as (\S+)\.$", RegexOptions.Multiline).Groups.Values.Skip(1)).Value;
        SinkMessage carols = Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        Assert.Contains("Subject: From the CLI", Encoding.UTF8.GetString(carols.Data));
        await WaitForAsync(server, $"api/v1/queue/messages/{id}", m => Attempts(m, "bob@slow.test") == 1, "bob@slow.test tried once");
        CliResult message = await RunAsync(server, "message", id);
        Assert.Contains(message.Lines, l => l.StartsWith("bob@slow.test", StringComparison.Ordinal) && l.Contains("deferred"));

        string eml = Path.Combine(Path.GetDirectoryName(server.SpoolPath)!, "message.eml");
        await File.WriteAllTextAsync(eml, "From: alice@sender.test\r\nTo: dave@fast.test\r\nSubject: From a file\r\n\r\nSent as written.\r\n");
        CliResult file = await RunAsync(server, "send", "--from", "alice@sender.test", "--to", "dave@fast.test", "--file", eml, "--json");
        Assert.Equal(0, file.ExitCode);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(file.Stdout).RootElement.GetProperty("id").GetString()));
        SinkMessage daves = (await sink.WaitForMessagesAsync(2, Wait)).Single(m => m.Recipients.Contains("dave@fast.test"));
        Assert.EndsWith("Subject: From a file\r\n\r\nSent as written.\r\n", Encoding.UTF8.GetString(daves.Data));

        CliResult both = await RunAsync(server, "send", "--from", "alice@sender.test", "--to", "x@fast.test", "--file", eml, "--subject", "S");
        Assert.Equal(2, both.ExitCode);
        CliResult noRecipient = await RunAsync(server, "send", "--from", "alice@sender.test", "--subject", "S", "--text", "T");
        Assert.Equal(2, noRecipient.ExitCode);
        CliResult invalid = await RunAsync(server, "send", "--from", "not an address", "--to", "x@fast.test", "--subject", "S", "--text", "T");
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("400", invalid.Stderr);
    }

    [Fact]
    public async Task With_API_keys_configured_a_request_without_the_key_exits_1_with_401_and_the_right_key_works()
    {
        const string key = "cli-test-key-0123456789abcdefghijklmnopqrstuvw";
        string hash = "sha256$" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        await using LoopbackSmtpSink sink = SlowSink();
        await using ServerProcess server = await StartRelayAsync(sink, $"Mta:Http:ApiKeys:ops={hash}");
        string[] send = ["send", "--from", "alice@sender.test", "--to", "bob@slow.test", "--subject", "S", "--text", "T"];

        CliResult anonymous = await RunAsync(server, send);
        Assert.Equal(1, anonymous.ExitCode);
        Assert.Contains("401", anonymous.Stderr);
        Assert.Contains("--api-key or FASTMTA_API_KEY", anonymous.Stderr);
        CliResult wrong = await RunAsync(server, [.. send, "--api-key", "not-the-key"]);
        Assert.Equal(1, wrong.ExitCode);

        CliResult keyed = await RunAsync(server, [.. send, "--api-key", key]);
        Assert.Equal(0, keyed.ExitCode);
        Assert.StartsWith("Queued as ", keyed.Stdout);
        CliResult adminWithoutKey = await RunAsync(server, "queue");
        Assert.Equal(1, adminWithoutKey.ExitCode); // the admin API takes the same keys
        Assert.Contains("401", adminWithoutKey.Stderr);
        CliResult fromEnvironment = await RunAsync(server, ["messages", "--domain", "slow.test"], environment: ("FASTMTA_API_KEY", key));
        Assert.Equal(0, fromEnvironment.ExitCode);
        Assert.Contains("alice@sender.test", fromEnvironment.Stdout);
    }

    private Task<CliResult> RunAsync(ServerProcess server, params string[] args) =>
        RunAsync($"http://127.0.0.1:{server.HttpPort}", args);

    private Task<CliResult> RunAsync(ServerProcess server, string[] args, (string Name, string Value) environment) =>
        RunAsync($"http://127.0.0.1:{server.HttpPort}", args, environment);

    private Task<CliResult> RunAsync(string url, params string[] args) => RunAsync(url, args, null);

    private Task<CliResult> RunAsync(string url, string[] args, (string Name, string Value)? environment) =>
        CliProcess.RunAsync(url, args, environment, output);

    private static async Task<string> SendAsync(ServerProcess server, string from, string[] to)
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        return await client.SendMessageAsync(from, to, MessageContent.Simple(from, to[0], "cli test", "Queued for the CLI to see."));
    }

    // Polls the admin API directly (not through the CLI) until the queue summary satisfies the condition.
    private static Task WaitForQueueAsync(ServerProcess server, Func<JsonElement, bool> condition, string what) =>
        WaitForAsync(server, "api/v1/queue", condition, what);

    private static async Task WaitForAsync(ServerProcess server, string path, Func<JsonElement, bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        string last = "";
        while (deadline.Elapsed < Wait)
        {
            last = await Http.GetStringAsync($"http://127.0.0.1:{server.HttpPort}/{path}");
            using JsonDocument answer = JsonDocument.Parse(last);
            if (condition(answer.RootElement))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw server.Failure($"Timed out waiting for {what}; last answer from /{path}: {last}");
    }

    private static int Attempts(JsonElement message, string recipient) =>
        message.GetProperty("recipients").EnumerateArray().Single(r => r.GetProperty("address").GetString() == recipient).GetProperty("attempts").GetInt32();
}
