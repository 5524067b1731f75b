using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Delivery enabled (the admin API needs a live queue) but paused: injected mail stays queued, nothing is looked up.
public sealed class PausedQueueServerFixture : ServerFixture
{
    protected override IEnumerable<string> Settings => ["Mta:Delivery:Enabled=true", "Mta:Delivery:Paused=true"];
}

// Hostile input to the admin and injection APIs over real HTTP (HttpClient, and raw TCP where HttpClient would not
// send the malformed request): every refusal is a 400 application/problem+json naming what was wrong, nothing is
// stored for it, and well-formed requests still work. Also the console log's shape (timestamps, no http:// SMTP).
public sealed class HttpInputTests(PausedQueueServerFixture fixture, ITestOutputHelper output) : IClassFixture<PausedQueueServerFixture>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly string LongDomain = string.Concat(Enumerable.Repeat("a", 3000));

    private ServerProcess Server => fixture.Server;

    private string Url(string pathAndQuery) => $"http://127.0.0.1:{Server.HttpPort}{pathAndQuery}";

    private async Task<(HttpStatusCode Status, string? ContentType, JsonNode? Body)> SendAsync(HttpMethod method, string pathAndQuery,
        HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(Url(pathAndQuery))) { Content = content };
        using HttpResponseMessage response = await Http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        output.WriteLine($"{method} {pathAndQuery[..Math.Min(pathAndQuery.Length, 120)]} -> {(int)response.StatusCode} {body}");
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, body.Length > 0 ? JsonNode.Parse(body) : null);
    }

    // One request written as given on a fresh connection (Connection: close); the whole response as text.
    private async Task<string> SendRawAsync(string request)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await client.ConnectAsync(IPAddress.Loopback, Server.HttpPort, timeout.Token);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request), timeout.Token);
        var response = new MemoryStream();
        await stream.CopyToAsync(response, timeout.Token);
        string text = Encoding.UTF8.GetString(response.ToArray());
        output.WriteLine($"raw {request.Split('\r')[0]} -> {text}");
        return text;
    }

    private static void AssertProblem(HttpStatusCode status, string? contentType, JsonNode? body, HttpStatusCode expected, string named)
    {
        Assert.Equal(expected, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.NotNull(body);
        Assert.Equal((int)expected, body["status"]!.GetValue<int>());
        Assert.Contains(named, body["detail"]!.GetValue<string>(), StringComparison.OrdinalIgnoreCase);
    }

    public static TheoryData<string, string> BadDomainRequests => new()
    {
        { "POST", "/api/v1/destinations/*/suspend" },
        { "POST", "/api/v1/destinations/..%2f..%2fx/suspend?duration=01:00:00" },
        { "POST", "/api/v1/destinations/exa%E2%80%AEmple.com/suspend" },  // U+202E right-to-left override
        { "POST", $"/api/v1/destinations/{LongDomain}/suspend" },
        { "POST", "/api/v1/destinations/a..b.test/resume" },
        { "POST", "/api/v1/destinations/-a.test/bounce" },
        { "POST", "/api/v1/destinations/a%20b.test/delete" },
        { "POST", "/api/v1/destinations/%5B999.1.1.1%5D/resume" },         // [999.1.1.1]: no address literal
        { "GET", "/api/v1/queue/messages?domain=*" },
        { "GET", "/api/v1/queue/messages?domain=" },
        { "POST", "/api/v1/queue/retry?domain=..%2f..%2fx" },
        { "POST", $"/api/v1/queue/retry?domain={LongDomain}" },
    };

    [Theory]
    [MemberData(nameof(BadDomainRequests))]
    public async Task A_domain_that_is_no_domain_name_gets_400_naming_the_domain_and_nothing_is_suspended(string method, string pathAndQuery)
    {
        var (status, type, body) = await SendAsync(new HttpMethod(method), pathAndQuery);

        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "domain");
        Assert.NotNull(body!["errors"]!["domain"]);
        var (_, _, suspended) = await SendAsync(HttpMethod.Get, "/api/v1/destinations/suspended");
        Assert.Empty(suspended!.AsArray());
    }

    [Theory]
    [InlineData("/api/v1/queue?limit=-1")]
    [InlineData("/api/v1/queue?limit=0")]
    [InlineData("/api/v1/queue?limit=10001")]
    [InlineData("/api/v1/queue/messages?limit=-1")]
    [InlineData("/api/v1/destinations?limit=2147483647")]
    [InlineData("/api/v1/shaping?limit=-5")]
    [InlineData("/api/v1/queue?limit=abc")]
    [InlineData("/api/v1/destinations?limit=1.5")]
    [InlineData("/api/v1/shaping?limit=abc")]
    [InlineData("/api/v1/queue?limit=99999999999")]
    public async Task A_limit_out_of_range_or_not_a_number_gets_400_naming_the_limit(string pathAndQuery)
    {
        var (status, type, body) = await SendAsync(HttpMethod.Get, pathAndQuery);

        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "limit");
    }

    [Fact]
    public async Task Well_formed_domains_and_limits_still_work()
    {
        var (status, _, body) = await SendAsync(HttpMethod.Post, "/api/v1/destinations/Example-1.test/suspend?duration=01:00:00");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("example-1.test", body!["domain"]!.GetValue<string>());
        (status, _, _) = await SendAsync(HttpMethod.Post, "/api/v1/destinations/b%C3%BCcher.test/suspend");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _, body) = await SendAsync(HttpMethod.Get, "/api/v1/destinations/suspended");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["b\u00fccher.test", "example-1.test"], body!.AsArray().Select(s => s!["domain"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        (status, _, _) = await SendAsync(HttpMethod.Post, "/api/v1/destinations/example-1.test/resume");
        Assert.Equal(HttpStatusCode.OK, status);
        (status, _, _) = await SendAsync(HttpMethod.Post, "/api/v1/destinations/b%C3%BCcher.test/resume");
        Assert.Equal(HttpStatusCode.OK, status);

        // An address literal is a domain RCPT TO may name: looked up (404: not suspended), not refused.
        var (literal, type, problem) = await SendAsync(HttpMethod.Post, "/api/v1/destinations/%5B192.0.2.1%5D/resume");
        AssertProblem(literal, type, problem, HttpStatusCode.NotFound, "not suspended");
        (status, _, _) = await SendAsync(HttpMethod.Post, "/api/v1/queue/retry?domain=xn--bcher-kva.test");
        Assert.Equal(HttpStatusCode.OK, status);
        foreach (string ok in (string[])["/api/v1/queue?limit=1", "/api/v1/queue?limit=10000", "/api/v1/queue/messages?domain=a-b.c.test&limit=5",
                     "/api/v1/destinations", "/api/v1/shaping?limit=100000"])
        {
            (status, _, _) = await SendAsync(HttpMethod.Get, ok);
            Assert.Equal(HttpStatusCode.OK, status);
        }
    }

    [Fact]
    public async Task Framework_level_errors_are_problem_details_too()
    {
        // A query value that does not bind, as the server received it (HttpClient would re-encode it).
        string nulLimit = await SendRawAsync("GET /api/v1/queue?limit=%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 ", nulLimit);
        Assert.Contains("Content-Type: application/problem+json", nulLimit);
        Assert.Contains("limit", nulLimit);

        // A chunked body whose chunk size is not hexadecimal: the body's framing is broken.
        string chunk = await SendRawAsync("POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400 ", chunk);
        Assert.Contains("Content-Type: application/problem+json", chunk);
        Assert.Contains("chunk", chunk, StringComparison.OrdinalIgnoreCase);

        var (status, type, body) = await SendAsync(HttpMethod.Get, "/api/v1/no-such-endpoint");
        AssertProblem(status, type, body, HttpStatusCode.NotFound, "No endpoint");
        (status, type, body) = await SendAsync(HttpMethod.Delete, "/api/v1/queue");
        AssertProblem(status, type, body, HttpStatusCode.MethodNotAllowed, "DELETE");

        string metrics = await Http.GetStringAsync(Url("/metrics"));
        Assert.Matches(@"fastmta_http_refused_total\{[^}]*reason=""invalid_request""[^}]*\} [1-9]", metrics);
        Assert.Matches(@"fastmta_http_refused_total\{[^}]*reason=""no_endpoint""[^}]*\} [1-9]", metrics);
    }

    // The body is UTF-8 whatever the header says: the header is exactly the given one.
    private static ByteArrayContent JsonBody(string json, string contentType = "application/json")
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    [Fact]
    public async Task Injection_refuses_duplicate_keys_a_non_UTF8_charset_and_NUL_and_queues_nothing_for_them()
    {
        int before = await QueuedMessagesAsync();
        const string Message = "\"recipients\":[\"bob@dest.test\"],\"content\":\"Subject: x\\r\\n\\r\\nhello\\r\\n\"";

        // Which "from" would win is the parser's choice: refused.
        var (status, type, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages",
            JsonBody($"{{\"from\":\"alice@sender.test\",\"from\":\"mallory@evil.test\",{Message}}}"));
        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "Duplicate");
        Assert.Contains("from", body!["detail"]!.GetValue<string>());
        (status, type, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages",
            JsonBody($"{{\"from\":\"alice@sender.test\",\"From\":\"mallory@evil.test\",{Message}}}"));
        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "Duplicate");
        (status, type, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages",
            JsonBody($"{{\"from\":\"alice@sender.test\",\"tags\":{{\"a\":\"1\",\"a\":\"2\"}},{Message}}}"));
        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "tags");
        (status, type, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages/batch",
            JsonBody($"{{\"messages\":[{{\"from\":\"alice@sender.test\",{Message}}}],\"messages\":[]}}"));
        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "Duplicate");

        // ISO-8859-1 declared: the body would be read as UTF-8 regardless, so it is refused instead.
        (status, type, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages",
            JsonBody($"{{\"from\":\"alice@sender.test\",{Message}}}", "application/json; charset=iso-8859-1"));
        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "charset");
        Assert.NotNull(body!["errors"]!["Content-Type"]);

        (status, type, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages",
            JsonBody("{\"from\":\"alice@sender.test\",\"recipients\":[\"bob@dest.test\"],\"content\":\"Subject: x\\r\\n\\r\\nhel\\u0000lo\\r\\n\"}"));
        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "NUL");
        Assert.NotNull(body!["errors"]!["content"]);
        (status, type, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages",
            JsonBody("{\"from\":\"alice@sender.test\",\"recipients\":[\"bob@dest.test\"],\"subject\":\"a\\u0000b\",\"text\":\"hi\"}"));
        AssertProblem(status, type, body, HttpStatusCode.BadRequest, "NUL");
        Assert.NotNull(body!["errors"]!["subject"]);

        Assert.Equal(before, await QueuedMessagesAsync());

        // The same message well formed, with charset=utf-8 spelt out, is queued.
        (status, _, body) = await SendAsync(HttpMethod.Post, "/api/v1/messages",
            JsonBody($"{{\"from\":\"alice@sender.test\",{Message}}}", "application/json; charset=utf-8"));
        Assert.Equal(HttpStatusCode.Accepted, status);
        Assert.NotNull(body!["id"]);
        Assert.Equal(before + 1, await QueuedMessagesAsync());
    }

    private async Task<int> QueuedMessagesAsync()
    {
        using JsonDocument summary = JsonDocument.Parse(await Http.GetStringAsync(Url("/api/v1/queue")));
        return summary.RootElement.GetProperty("messages").GetInt32();
    }

    [Fact]
    public void The_console_log_has_UTC_timestamps_and_does_not_call_the_SMTP_listener_http()
    {
        string[] lines = Server.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] entries = [.. lines.Where(l => Regex.IsMatch(l, @"\b(trce|dbug|info|warn|fail|crit): "))];
        Assert.NotEmpty(entries);
        foreach (string entry in entries)
        {
            Match m = Regex.Match(entry, @"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (trce|dbug|info|warn|fail|crit): ");
            Assert.True(m.Success, $"no UTC timestamp at the start of: {entry}");
            DateTime at = DateTime.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(at, DateTime.UtcNow.AddHours(-1), DateTime.UtcNow.AddMinutes(1)); // UTC, whatever the machine's zone
        }
        Assert.Contains(entries, e => e.Contains($"Now listening on: http://127.0.0.1:{Server.HttpPort}", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.Contains($"http://127.0.0.1:{Server.SmtpPort}", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains($"smtp://127.0.0.1:{Server.SmtpPort}", StringComparison.Ordinal));
    }
}
