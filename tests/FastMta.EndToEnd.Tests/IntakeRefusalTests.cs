using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// One intake refusal, two answers: a message whose X-FastMta-Pool names no configured pool is refused by the intake
// pipeline (IntakeRejection.UnknownPool), which the SMTP session answers 550 5.7.1 and the HTTP API 400 naming the
// field; neither is spooled, and a known pool is taken by both.
public sealed class IntakeRefusalTests(ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task An_unknown_pool_is_550_over_SMTP_and_400_over_HTTP_and_a_known_one_is_taken_by_both()
    {
        // Delivery runs (pools are known only to the live shaper) towards a closed port, so the message stays queued.
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Delivery:Enabled=true",
            "Mta:Routes:*=127.0.0.1:9", "Mta:Egress:Sources:a:Address=127.0.0.2", "Mta:Egress:Pools:warm:a=1",
            "Mta:Queue:RetrySchedule=01:00:00"], output: output);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<alice@sender.test>", 250);
            await client.CommandAsync("RCPT TO:<bob@dest.test>", 250);
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync("X-FastMta-Pool: cold\r\nSubject: smtp\r\n\r\nbody\r\n.\r\n");
            SmtpReply refused = await client.ExpectAsync(550, "5.7.1");
            Assert.Contains("X-FastMta-Pool names no configured egress pool", refused.ToString());
        }

        var (status, body) = await PostAsync(server, new { from = "alice@sender.test", recipients = new[] { "bob@dest.test" },
            content = "X-FastMta-Pool: cold\r\nSubject: http\r\n\r\nbody\r\n" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("The message is invalid.", body!["title"]!.GetValue<string>());
        Assert.Equal("no egress pool named 'cold' is configured (Mta:Egress:Pools)", body["errors"]!["content"]![0]!.GetValue<string>());

        (status, body) = await PostAsync(server, new { from = "alice@sender.test", recipients = new[] { "bob@dest.test" },
            pool = "cold", text = "t", subject = "s" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("no egress pool named 'cold' is configured (Mta:Egress:Pools)", body!["errors"]!["pool"]![0]!.GetValue<string>());

        (status, _) = await PostAsync(server, new { from = "alice@sender.test", recipients = new[] { "carol@dest.test" },
            content = "X-FastMta-Pool: warm\r\nSubject: http\r\n\r\nbody\r\n" });
        Assert.Equal(HttpStatusCode.Accepted, status);

        await server.StopGracefullyAsync();
        SpoolEntry taken = Assert.Single(await SpoolInspector.ReadAllAsync(server.SpoolPath));
        Assert.Equal("warm", taken.Pool);
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(ServerProcess server, object message)
    {
        using var content = new StringContent(JsonSerializer.Serialize(message, JsonSerializerOptions.Web), Encoding.UTF8, "application/json");
        HttpResponseMessage response = await Http.PostAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/messages", content);
        string body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body.Length > 0 ? JsonNode.Parse(body) : null);
    }
}
