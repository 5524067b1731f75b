using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The HTTP injection API's own limits: the request body size (Mta:Http:MaxRequestBodySize, 413) and the keys'
// validation. The concurrency limit (503 with Retry-After) is exercised by MemoryBoundTests.
public sealed class InjectionLimitTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task A_request_body_over_MaxRequestBodySize_gets_413_and_one_under_it_is_queued()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Http:MaxRequestBodySize=4096"], output: output);
        string Request(int bodyBytes) =>
            $"{{\"from\":\"a@sender.test\",\"recipients\":[\"b@dest.test\"],\"content\":\"Subject: x\\r\\n\\r\\n{new string('x', bodyBytes)}\\r\\n\"}}";

        (HttpStatusCode small, _) = await PostAsync(server, Request(1000));
        (HttpStatusCode large, JsonNode? problem) = await PostAsync(server, Request(5000));

        Assert.Equal(HttpStatusCode.Accepted, small);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large);
        Assert.Contains("4096", problem?["detail"]?.GetValue<string>());
    }

    [Theory]
    [InlineData("MaxConcurrentInjections", "0")]
    [InlineData("MaxConcurrentInjections", "many")]
    [InlineData("MaxRequestBodySize", "100")]
    public async Task An_invalid_injection_limit_stops_start_up_with_the_key_named(string key, string value)
    {
        ToolResult result = await InvalidConfiguration.StartUpFailsAsync($"Mta:Http:{key}={value}");
        Assert.Contains($"Mta:Http:{key}", result.Stderr);
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(ServerProcess server, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{server.HttpPort}/api/v1/messages")
        {
            Content = new StringContent(json, Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using HttpResponseMessage response = await Http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body.Length > 0 ? JsonNode.Parse(body) : null);
    }
}
