using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FastMta.Api.Contracts;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Every admin and injection endpoint's answer, from a real server with live state behind it (deferred mail, a
// suspended domain and source, active shaping budgets), read into its FastMta.Api.Contracts record and written back:
// a member the record lacks fails the read (Disallow), one it names differently or shapes differently fails the
// comparison. The CLI reads these same records, so what passes here is what `fastmta` understands.
public sealed class ApiContractTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    // The ASP.NET Core web defaults the server writes with; strict about members the contract does not know.
    private static readonly JsonSerializerOptions Strict = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    // The CLI's way of writing a request: only the fields that are set.
    private static readonly JsonSerializerOptions ClientOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    [Fact]
    public async Task Every_endpoint_answers_json_that_its_contract_record_reads_and_writes_back_unchanged()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            RcptReply = r => r.Address.EndsWith("@slow.test", StringComparison.Ordinal) ? "451 4.7.1 try later" : null,
        });
        await using ServerProcess server = await ServerProcess.StartAsync(
        [
            "Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}", "Mta:Queue:RetrySchedule=01:00:00",
            "Mta:Egress:Sources:a:Address=127.0.0.2", "Mta:Egress:Sources:a:EhloName=a.test.example",
            "Mta:Egress:Sources:b:Address=127.0.0.3", "Mta:Egress:Pools:default:a=1", "Mta:Egress:Pools:default:b=1",
            "Mta:Shaping:Rules:slow:Domains=slow.test", "Mta:Shaping:Rules:slow:MessagesPerSecond=10",
            "Mta:Shaping:Rules:slow:MaxConnections=4",
        ], output: output);

        InjectionAccepted accepted = await RoundTripAsync<InjectionAccepted>(server, HttpMethod.Post, "api/v1/messages", HttpStatusCode.Accepted,
            new InjectionRequest
            {
                From = "alice@sender.test", Recipients = ["bob@slow.test", "carol@fast.test"], Subject = "contract", Text = "Deferred at slow.test.",
                Tags = new() { ["campaign"] = "contracts" },
            });
        BatchInjectionResponse batch = await RoundTripAsync<BatchInjectionResponse>(server, HttpMethod.Post, "api/v1/messages/batch", HttpStatusCode.OK,
            new BatchInjectionRequest
            {
                Messages =
                [
                    new InjectionRequest { From = "alice@sender.test", Recipients = ["dave@slow.test"], Subject = "second", Text = "Also deferred." },
                    new InjectionRequest { From = "alice@sender.test", Recipients = ["not an address"], Subject = "bad", Text = "Refused." },
                ],
            });
        Assert.Equal([202, 400], batch.Results.Select(r => r.Status));
        await WaitForDeferredAsync(server, 2);

        QueueSummary summary = await RoundTripAsync<QueueSummary>(server, HttpMethod.Get, "api/v1/queue");
        Assert.Equal("slow.test", Assert.Single(summary.Destinations).Domain);
        List<QueuedMessageInfo> messages = await RoundTripAsync<List<QueuedMessageInfo>>(server, HttpMethod.Get, "api/v1/queue/messages?domain=slow.test");
        Assert.Contains(messages, m => m.Id == accepted.Id);
        QueuedMessageInfo message = await RoundTripAsync<QueuedMessageInfo>(server, HttpMethod.Get, $"api/v1/queue/messages/{accepted.Id}");
        Assert.Contains(message.Recipients, r => r.Status == "deferred" && r.NextAttempt is not null);
        await RoundTripAsync<List<DestinationQueueInfo>>(server, HttpMethod.Get, "api/v1/destinations");

        SuspensionResponse suspended = await RoundTripAsync<SuspensionResponse>(server, HttpMethod.Post, "api/v1/destinations/slow.test/suspend?duration=01:00:00");
        Assert.NotNull(suspended.Until);
        await RoundTripAsync<SuspensionResponse>(server, HttpMethod.Post, "api/v1/destinations/other.test/suspend");
        List<SuspensionResponse> suspensions = await RoundTripAsync<List<SuspensionResponse>>(server, HttpMethod.Get, "api/v1/destinations/suspended");
        Assert.Equal(2, suspensions.Count);
        await RoundTripAsync<QueueSummary>(server, HttpMethod.Get, "api/v1/queue"); // with the suspensions' SuspendedUntil
        await RoundTripAsync<SuspensionResponse>(server, HttpMethod.Post, "api/v1/destinations/other.test/resume");

        SourceSuspensionResponse source = await RoundTripAsync<SourceSuspensionResponse>(server, HttpMethod.Post, "api/v1/sources/b/suspend?duration=00:30:00");
        Assert.True(source.Suspended);
        ShapingResponse shaping = await RoundTripAsync<ShapingResponse>(server, HttpMethod.Get, "api/v1/shaping");
        Assert.Equal(["b"], shaping.SuspendedSources);
        Assert.Contains(shaping.States, s => s.Rule == "slow");
        await RoundTripAsync<SourceSuspensionResponse>(server, HttpMethod.Post, "api/v1/sources/b/resume");

        await RoundTripAsync<RetryResponse>(server, HttpMethod.Post, "api/v1/queue/retry?domain=nothing.test");
        await RoundTripAsync<AdminOutcome>(server, HttpMethod.Post, "api/v1/destinations/nothing.test/delete?reason=contract");
        AdminOutcome bounced = await RoundTripAsync<AdminOutcome>(server, HttpMethod.Post, "api/v1/destinations/slow.test/bounce?reason=contract");
        Assert.Equal(2, bounced.Recipients + bounced.SkippedInFlight);
    }

    // Sends the request, reads the answer into T strictly, writes T back and compares the two JSON documents.
    private async Task<T> RoundTripAsync<T>(ServerProcess server, HttpMethod method, string path, HttpStatusCode expected = HttpStatusCode.OK,
        object? body = null)
    {
        using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{server.HttpPort}/{path}");
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body, body.GetType(), ClientOptions), Encoding.UTF8, "application/json");
        }

        using HttpResponseMessage response = await Http.SendAsync(request);
        string json = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{method} /{path} -> {(int)response.StatusCode} {json}");
        Assert.True(expected == response.StatusCode, $"{method} /{path}: {(int)response.StatusCode} {json}");

        T read = JsonSerializer.Deserialize<T>(json, Strict)
            ?? throw new Xunit.Sdk.XunitException($"{method} /{path} answered null where {typeof(T).Name} was expected");
        JsonNode? original = JsonNode.Parse(json);
        JsonNode? written = JsonNode.Parse(JsonSerializer.Serialize(read, Strict));
        Assert.True(JsonNode.DeepEquals(original, written),
            $"{method} /{path}: {typeof(T).Name} does not write back what the server sent.\nserver:   {json}\ncontract: {written?.ToJsonString()}");
        return read;
    }

    private static async Task WaitForDeferredAsync(ServerProcess server, int deferred)
    {
        var deadline = Stopwatch.StartNew();
        string last = "";
        while (deadline.Elapsed < Wait)
        {
            last = await Http.GetStringAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/queue");
            if (JsonSerializer.Deserialize<QueueSummary>(last, Strict)!.Deferred == deferred)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw server.Failure($"{deferred} recipients were not deferred within {Wait}; last summary {last}");
    }
}
