using System.Text.Json.Nodes;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The delivery log of a real relay names the traffic shaping identity of every attempt's outcome: the pool the
// message left from, the source admitted, the rule in force and the destination's site.
public sealed class DeliveryEventIdentityTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Delivery_log_events_of_a_relay_carry_pool_source_rule_and_site()
    {
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await ServerProcess.StartAsync(
        [
            "Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}",
            "Mta:Egress:Sources:b:Address=127.0.0.3", "Mta:Egress:Pools:bulk:b=1", "Mta:Egress:SenderDomainPools:sender.test=bulk",
            "Mta:Shaping:Rules:dest:Domains=dest.test",
        ], output: output);

        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            await client.SendMessageAsync("alice@sender.test", ["bob@dest.test"],
                MessageContent.Simple("alice@sender.test", "bob@dest.test", "identity", "hello\r\n"));
        }

        Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        JsonObject delivery = await WaitForDeliveryAsync(relay);
        output.WriteLine(delivery.ToJsonString());
        Assert.Equal(("bulk", "b", "dest", "127.0.0.3"),
            ((string?)delivery["pool"], (string?)delivery["source"], (string?)delivery["rule"], (string?)delivery["sourceAddress"]));
        Assert.False(string.IsNullOrEmpty((string?)delivery["site"]), "the site is set");
        await relay.StopGracefullyAsync();
    }

    private static async Task<JsonObject> WaitForDeliveryAsync(ServerProcess relay)
    {
        DateTime deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            if (File.Exists(relay.DeliveryLogPath))
            {
                using var stream = new FileStream(relay.DeliveryLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.Length > 0 && JsonNode.Parse(line) is JsonObject e && (string?)e["type"] == "Delivery")
                    {
                        return e;
                    }
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw relay.Failure("Timed out waiting for the Delivery event in the delivery log.");
            }

            await Task.Delay(50);
        }
    }
}
