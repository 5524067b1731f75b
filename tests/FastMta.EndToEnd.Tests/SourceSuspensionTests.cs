using System.Net;
using System.Text.Json.Nodes;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The admin API reads source suspensions from the shaper, their one record: what it shows is what the shaper enforces.
public sealed class SourceSuspensionTests(ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Suspending_the_implicit_default_source_shows_in_the_shaping_state_and_holds_its_mail()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await ServerProcess.StartAsync(
            ["Mta:Delivery:Enabled=true", "Mta:Queue:RetrySchedule=00:00:01", $"Mta:Routes:*={sink.EndPoint}"], output: output);

        using (HttpResponseMessage suspended = await Http.PostAsync($"http://127.0.0.1:{relay.HttpPort}/api/v1/sources/default/suspend", null))
        {
            Assert.Equal(HttpStatusCode.OK, suspended.StatusCode);
        }

        JsonNode state = JsonNode.Parse(await Http.GetStringAsync($"http://127.0.0.1:{relay.HttpPort}/api/v1/shaping"))!;
        output.WriteLine(state.ToJsonString());
        JsonNode source = Assert.Single(state["sources"]!.AsArray())!;
        Assert.Equal(("default", true), ((string)source["name"]!, (bool)source["suspended"]!));
        Assert.Null(source["suspendedUntil"]);
        Assert.Equal(["default"], state["suspendedSources"]!.AsArray().Select(n => (string)n!));

        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            await client.SendMessageAsync("alice@sender.test", ["r@dest.test"], MessageContent.Simple("alice@sender.test", "r@dest.test", "held", "hello\r\n"));
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Empty(sink.Messages);

        using (HttpResponseMessage resumed = await Http.PostAsync($"http://127.0.0.1:{relay.HttpPort}/api/v1/sources/default/resume", null))
        {
            Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        }

        await sink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(60));
        state = JsonNode.Parse(await Http.GetStringAsync($"http://127.0.0.1:{relay.HttpPort}/api/v1/shaping"))!;
        Assert.Empty(state["suspendedSources"]!.AsArray());
        Assert.False((bool)state["sources"]![0]!["suspended"]!);
    }
}
