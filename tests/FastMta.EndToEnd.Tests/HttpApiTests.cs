using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using MimeKit;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The HTTP injection API (POST /api/v1/messages and /batch) over real HTTP on loopback against a real server
// process; what it queued is read back from the spool after the server stopped.
public sealed class HttpApiTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(ServerProcess server,
        string path, string json, string contentType = "application/json", string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{server.HttpPort}{path}")
        {
            Content = new StringContent(json, Encoding.UTF8, contentType),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        // As curl does for large bodies: a server refusing the body (413) answers before the client sends it, so
        // the answer cannot be lost to a connection reset while the client is still writing.
        request.Headers.ExpectContinue = true;
        HttpResponseMessage response = await Http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body.Length > 0 ? JsonNode.Parse(body) : null, response);
    }

    private static string Json(object value) => JsonSerializer.Serialize(value, JsonSerializerOptions.Web);

    [Fact]
    public async Task Raw_content_is_spooled_byte_identical_after_the_Received_header()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        const string content = "From: Alice <alice@sender.test>\r\nTo: bob@dest.test\r\nSubject: raw \u00e9t\u00e9\r\n"
            + "Date: Sat, 28 Nov 2026 07:10:00 +0000\r\nMessage-ID: <raw-1@sender.test>\r\n\r\nBody line\r\n.leading dot\r\n";

        var (status, body, _) = await PostAsync(server, "/api/v1/messages",
            Json(new { from = "alice@sender.test", recipients = new[] { "bob@dest.test", "carol@dest.test" }, content, tags = new { campaign = "c1" } }));

        Assert.Equal(HttpStatusCode.Accepted, status);
        string id = body!["id"]!.GetValue<string>();
        Assert.Equal(2, body["recipients"]!.GetValue<int>());
        Assert.Equal("c1", body["tags"]!["campaign"]!.GetValue<string>());
        await server.StopGracefullyAsync();
        SpoolEntry entry = Assert.Single(await SpoolInspector.ReadAllAsync(server.SpoolPath));
        Assert.Equal(id, entry.Id);
        Assert.Equal("alice@sender.test", entry.Sender);
        Assert.Equal("BODY=8BITMIME", entry.SenderParameters);
        Assert.Equal(["bob@dest.test", "carol@dest.test"], entry.RecipientAddresses);
        Assert.Equal("HTTP", entry.Protocol);
        Assert.Null(entry.AuthenticatedUser);
        Assert.Contains($"with HTTP id {id}", entry.ReceivedHeader);
        Assert.Equal(Encoding.UTF8.GetBytes(content), entry.Content);
    }

    [Fact]
    public async Task Raw_content_gets_CRLF_line_ends_and_only_the_missing_Date_and_Message_ID_and_the_pool_goes_to_the_envelope()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var (status, _, _) = await PostAsync(server, "/api/v1/messages",
            Json(new { from = "", recipients = new[] { "bob@dest.test" }, pool = "warm-1", content = "Subject: lf\n\nline one\nline two" }));
        Assert.Equal(HttpStatusCode.Accepted, status);
        (status, _, _) = await PostAsync(server, "/api/v1/messages",
            Json(new { from = "a@sender.test", recipients = new[] { "bob@dest.test" }, content = "Message-ID: <kept@x>\r\nDate: Sat, 28 Nov 2026 07:10:00 +0000\r\n\r\nb\r\n" }));
        Assert.Equal(HttpStatusCode.Accepted, status);

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> entries = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        Assert.Equal(2, entries.Count);
        SpoolEntry first = entries.Single(e => e.Sender == "");
        string text = Encoding.UTF8.GetString(first.Content);
        Assert.Equal("warm-1", first.Pool);
        Assert.Matches(@"^Date: [^\r\n]+\r\nMessage-ID: <[^\r\n>]+@mx\.test\.example>\r\nSubject: lf\r\n\r\nline one\r\nline two\r\n$", text);
        SpoolEntry second = entries.Single(e => e.Sender != "");
        Assert.Equal("Message-ID: <kept@x>\r\nDate: Sat, 28 Nov 2026 07:10:00 +0000\r\n\r\nb\r\n", Encoding.UTF8.GetString(second.Content));
        Assert.Equal("", second.SenderParameters);
        Assert.Null(second.Pool);
    }

    [Fact]
    public async Task A_structured_message_with_text_html_and_an_attachment_is_built_as_valid_MIME()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        byte[] pdf = [.. Enumerable.Range(0, 3000).Select(i => (byte)i)];
        var (status, body, _) = await PostAsync(server, "/api/v1/messages", Json(new
        {
            from = "bounces@sender.test",
            recipients = new[] { "bob@dest.test", "hidden@dest.test" },
            headerFrom = "News \u00c9dition <news@sender.test>",
            to = new[] { "Bob <bob@dest.test>" },
            cc = new[] { "copy@dest.test" },
            replyTo = new[] { "reply@sender.test" },
            subject = "Caf\u00e9 news",
            text = "Hello Bob, caf\u00e9.",
            html = "<p>Hello <b>Bob</b></p>",
            headers = new Dictionary<string, string> { ["X-Campaign"] = "spring", ["List-Unsubscribe"] = "<mailto:u@sender.test>" },
            pool = "bulk",
            attachments = new[] { new { filename = "report.pdf", contentType = "application/pdf", content = Convert.ToBase64String(pdf) } },
        }));
        Assert.Equal(HttpStatusCode.Accepted, status);
        string id = body!["id"]!.GetValue<string>();

        await server.StopGracefullyAsync();
        SpoolEntry entry = Assert.Single(await SpoolInspector.ReadAllAsync(server.SpoolPath));
        Assert.Equal(id, entry.Id);
        Assert.Equal(["bob@dest.test", "hidden@dest.test"], entry.RecipientAddresses);
        Assert.All(entry.Content, b => Assert.True(b < 0x80, "a structured message is 7-bit"));
        MimeMessage message = MimeMessage.Load(new MemoryStream(entry.Content));
        Assert.Equal("Caf\u00e9 news", message.Subject);
        Assert.Equal("News \u00c9dition", Assert.IsType<MailboxAddress>(Assert.Single(message.From)).Name);
        Assert.Equal("bob@dest.test", Assert.IsType<MailboxAddress>(Assert.Single(message.To)).Address);
        Assert.Equal("copy@dest.test", Assert.IsType<MailboxAddress>(Assert.Single(message.Cc)).Address);
        Assert.Equal("reply@sender.test", Assert.IsType<MailboxAddress>(Assert.Single(message.ReplyTo)).Address);
        Assert.DoesNotContain("hidden@dest.test", Encoding.ASCII.GetString(entry.Content));
        Assert.Equal("spring", message.Headers["X-Campaign"]);
        Assert.Equal("bulk", entry.Pool);
        Assert.Null(message.Headers["X-FastMta-Pool"]); // an instruction to FastMta, kept in the envelope, never sent
        Assert.False(string.IsNullOrEmpty(message.MessageId));
        Assert.NotNull(message.Headers["Date"]);
        Assert.Equal("Hello Bob, caf\u00e9.", message.TextBody?.TrimEnd());
        Assert.Contains("<b>Bob</b>", message.HtmlBody);
        MimePart attachment = Assert.IsType<MimePart>(Assert.Single(message.Attachments));
        Assert.Equal("report.pdf", attachment.FileName);
        Assert.Equal("application/pdf", attachment.ContentType.MimeType);
        using var decoded = new MemoryStream();
        attachment.Content!.DecodeTo(decoded);
        Assert.Equal(pdf, decoded.ToArray());
    }

    [Fact]
    public async Task A_batch_with_one_bad_message_queues_the_others_and_reports_the_bad_one()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var good = new { from = "a@sender.test", recipients = new[] { "bob@dest.test" }, subject = "s", text = "t" };
        var bad = new { from = "a@sender.test", recipients = new[] { "bob@dest.test", "not an address" }, subject = "s", text = "t" };
        var (status, body, _) = await PostAsync(server, "/api/v1/messages/batch", Json(new { messages = new object[] { good, bad, good } }));

        Assert.Equal(HttpStatusCode.OK, status);
        JsonArray results = body!["results"]!.AsArray();
        Assert.Equal([202, 400, 202], results.Select(r => r!["status"]!.GetValue<int>()));
        Assert.Equal([0, 1, 2], results.Select(r => r!["index"]!.GetValue<int>()));
        Assert.NotNull(results[1]!["errors"]!["recipients[1]"]);
        Assert.Null(results[1]!["id"]);
        string[] ids = [results[0]!["id"]!.GetValue<string>(), results[2]!["id"]!.GetValue<string>()];

        var (tooMany, problem, _) = await PostAsync(server, "/api/v1/messages/batch", Json(new { messages = Enumerable.Repeat(good, 101) }));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany);
        Assert.NotNull(problem!["errors"]!["messages"]);

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> entries = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        Assert.Equal(ids.Order(), entries.Select(e => e.Id).Order());
    }

    [Fact]
    public async Task Every_bad_input_gets_its_status_and_a_problem_body_naming_the_field_and_nothing_is_queued()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Limits:MaxMessageBytes=2048", "Mta:Limits:MaxRecipients=3"], output: output);
        string big = new('x', 3000);
        (string Json, int Status, string Field)[] cases =
        [
            ("{\"from\": \"a@b.test\", ", 400, "$"),
            ("[]", 400, "$"),
            (Json(new { recipients = new[] { "b@d.test" }, content = "x" }), 400, "from"),
            (Json(new { from = "a@s.test", content = "x" }), 400, "recipients"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" } }), 400, "content"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, content = "x", text = "y" }), 400, "content"),
            (Json(new { from = "Alice <a@s.test>", recipients = new[] { "b@d.test" }, content = "x" }), 400, "from"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test", "b@d.test> NOTIFY=NEVER" }, content = "x" }), 400, "recipients[1]"),
            (Json(new { from = "a@s.test", recipients = new[] { "Postmaster" }, content = "x" }), 400, "recipients[0]"),
            (Json(new { from = "a@s.test", recipients = new[] { "a@d.test", "b@d.test", "c@d.test", "d@d.test" }, content = "x" }), 400, "recipients"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, text = "t", headers = new Dictionary<string, string> { ["Bcc"] = "x@d.test" } }), 400, "headers.Bcc"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, text = "t", headers = new Dictionary<string, string> { ["Content-Type"] = "text/html" } }), 400, "headers.Content-Type"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, text = "t", pool = "bad pool\r\nX: y" }), 400, "pool"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, text = "t", attachments = new[] { new { filename = "a", content = "***" } } }), 400, "attachments[0].content"),
            (Json(new { from = "a@s.test", recipient = new[] { "b@d.test" }, content = "x" }), 400, "$"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, content = big }), 413, "content"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, text = "t", html = big[..1800] }), 413, "message"),
            (Json(new { from = "a@s.test", recipients = new[] { "b@d.test" }, content = new string('y', 100_000) }), 413, "body"),
        ];
        foreach (var (json, expected, field) in cases)
        {
            var (status, body, response) = await PostAsync(server, "/api/v1/messages", json);
            string context = $"{json[..Math.Min(json.Length, 120)]} -> {(int)status} {body?.ToJsonString()}";
            Assert.True((int)status == expected, context);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(expected, body!["status"]!.GetValue<int>());
            Assert.False(string.IsNullOrEmpty(body["title"]?.GetValue<string>()), context);
            Assert.False(string.IsNullOrEmpty(body["type"]?.GetValue<string>()), context);
            JsonObject errors = body["errors"]!.AsObject();
            Assert.True(errors.Any(e => e.Key == field || e.Key.StartsWith(field + ".", StringComparison.Ordinal)), context);
        }

        var (wrongType, problem, _) = await PostAsync(server, "/api/v1/messages", "from=a", contentType: "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType);
        Assert.NotNull(problem!["errors"]!["Content-Type"]);

        await server.StopGracefullyAsync();
        Assert.Empty(await SpoolInspector.ReadAllAsync(server.SpoolPath));
    }

    [Fact]
    public async Task With_an_api_key_from_hash_api_key_requests_need_the_key_and_are_recorded_as_HTTPA()
    {
        const string key = "test-key-0123456789abcdefghijklmnop";
        ToolResult hashed = await ExternalTool.RunAsync("dotnet", [RepoLayout.ServerDll, "hash-api-key"], Wait, stdin: key + "\n");
        Assert.True(hashed.ExitCode == 0, $"hash-api-key failed: {hashed}");
        string stored = hashed.Stdout.Trim();
        Assert.Matches(@"^sha256\$[A-Za-z0-9+/]{43}=$", stored);
        Assert.DoesNotContain(key, hashed.Stdout + hashed.Stderr);

        ToolResult generated = await ExternalTool.RunAsync("dotnet", [RepoLayout.ServerDll, "generate-api-key"], Wait);
        string[] lines = generated.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^sha256\$", lines[1]);

        await using ServerProcess server = await ServerProcess.StartAsync([$"Mta:Http:ApiKeys:app={stored}", $"Mta:Http:ApiKeys:other={lines[1]}"], output: output);
        string message = Json(new { from = "a@sender.test", recipients = new[] { "bob@dest.test" }, content = "Subject: k\r\n\r\nb\r\n" });
        foreach (string? bearer in (string?[])[null, "wrong-key-0123456789abcdefghijkl", lines[0][..^1]])
        {
            var (status, body, response) = await PostAsync(server, "/api/v1/messages", message, bearer: bearer);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal(401, body!["status"]!.GetValue<int>());
        }
        var (batchStatus, _, _) = await PostAsync(server, "/api/v1/messages/batch", Json(new { messages = new[] { new { from = "" } } }));
        Assert.Equal(HttpStatusCode.Unauthorized, batchStatus);
        var (ok, accepted, _) = await PostAsync(server, "/api/v1/messages", message, bearer: key);
        Assert.Equal(HttpStatusCode.Accepted, ok);
        var (ok2, _, _) = await PostAsync(server, "/api/v1/messages", message, bearer: lines[0]);
        Assert.Equal(HttpStatusCode.Accepted, ok2);

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> entries = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = entries.Single(e => e.Id == accepted!["id"]!.GetValue<string>());
        Assert.Equal("HTTPA", entry.Protocol);
        Assert.Equal("app", entry.AuthenticatedUser);
        Assert.Equal(["app", "other"], entries.Select(e => e.AuthenticatedUser).Order());
    }

    [Fact]
    public async Task The_server_refuses_to_start_with_a_malformed_api_key_hash()
    {
        ToolResult result = await InvalidConfiguration.StartUpFailsAsync("Mta:Http:ApiKeys:app=plain-key-not-a-hash");
        Assert.Contains("Mta:Http:ApiKeys:app", result.Stderr);
        Assert.DoesNotContain("plain-key-not-a-hash", result.Stderr);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_injection_endpoints()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        JsonNode document = JsonNode.Parse(await Http.GetStringAsync($"http://127.0.0.1:{server.HttpPort}/openapi/v1.json"))!;
        JsonNode single = document["paths"]!["/api/v1/messages"]!["post"]!;
        Assert.Equal("InjectMessage", single["operationId"]!.GetValue<string>());
        Assert.NotNull(single["requestBody"]!["content"]!["application/json"]!["schema"]!["properties"]!["recipients"]);
        Assert.NotNull(single["responses"]!["202"]);
        Assert.NotNull(single["responses"]!["400"]);
        JsonNode batch = document["paths"]!["/api/v1/messages/batch"]!["post"]!;
        Assert.Equal("InjectMessageBatch", batch["operationId"]!.GetValue<string>());
        Assert.NotNull(document["components"]!["schemas"]!["InjectionAccepted"]);
    }

    [Fact]
    public async Task A_message_injected_over_HTTP_is_delivered_to_the_route()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Delivery:Enabled=true", "Mta:Queue:RetrySchedule=00:00:01", $"Mta:Routes:*={sink.EndPoint}"], output: output);
        var (status, body, _) = await PostAsync(server, "/api/v1/messages", Json(new
        {
            from = "alice@sender.test", recipients = new[] { "bob@dest.test" }, subject = "over HTTP", text = "delivered",
        }));
        Assert.Equal(HttpStatusCode.Accepted, status);

        SinkMessage received = (await sink.WaitForMessagesAsync(1, Wait)).Single();
        Assert.Equal("alice@sender.test", received.Sender);
        Assert.Equal(["bob@dest.test"], received.Recipients);
        (string header, byte[] content) = MessageContent.SplitReceived(received.Data);
        Assert.Contains($"with HTTP id {body!["id"]!.GetValue<string>()}", header);
        MimeMessage message = MimeMessage.Load(new MemoryStream(content));
        Assert.Equal("over HTTP", message.Subject);
        Assert.Equal("delivered", message.TextBody?.TrimEnd());
    }
}
