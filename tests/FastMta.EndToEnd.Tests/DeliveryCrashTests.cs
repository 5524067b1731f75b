using System.Collections.Concurrent;
using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace FastMta.EndToEnd.Tests;

// kill -9 while the relay is both accepting and delivering: after a restart on the same spool every recipient of
// every acknowledged message reaches the sink at least once, byte for byte. Deliveries in flight at the kill may be
// repeated (at-least-once, as with every MTA); nothing may be lost.
public sealed class DeliveryCrashTests(ITestOutputHelper output)
{
    private const int Sessions = 6;
    private const int MessagesPerSession = 40; // 240 messages, 480 recipients
    private static readonly string[] Domains = ["a.test", "b.test"];

    [Fact]
    public async Task Every_accepted_recipient_is_delivered_at_least_once_across_a_kill_nine_during_delivery()
    {
        await using var sink = new LoopbackSmtpSink();
        string[] settings = ["Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}", "Mta:Queue:RetrySchedule=00:00:01"];
        await using ServerProcess relay = await ServerProcess.StartAsync(settings, output: output);
        var acknowledged = new ConcurrentDictionary<string, byte[]>(); // sender -> content
        var errors = new ConcurrentQueue<string>();
        using var killed = new CancellationTokenSource();
        int count = 0;

        await Task.WhenAll(Enumerable.Range(0, Sessions).Select(session => Task.Run(async () =>
        {
            try
            {
                await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay);
                await client.EhloAsync();
                for (int i = 0; i < MessagesPerSession && !killed.IsCancellationRequested; i++)
                {
                    string sender = $"s{session}m{i}@crash.test";
                    byte[] content = MessageContent.Simple(sender, "r@a.test", $"crash {session}/{i}", $".dot line\r\nGrüße {session} {i}\r\n");
                    await client.SendMessageAsync(sender, Domains.Select(d => $"r@{d}"), content);
                    acknowledged[sender] = content;
                    // Kill once half is accepted and deliveries are under way.
                    if (Interlocked.Increment(ref count) >= Sessions * MessagesPerSession / 2 && sink.Messages.Count > 10 && !killed.IsCancellationRequested)
                    {
                        killed.Cancel();
                        relay.Kill();
                    }
                }
            }
            catch (Exception e) when (killed.IsCancellationRequested && e is XunitException or IOException or System.Net.Sockets.SocketException)
            {
                // killed under this session: its transaction in flight was never acknowledged
            }
            catch (Exception e)
            {
                errors.Enqueue($"session {session}: {e}");
            }
        })));

        Assert.True(errors.IsEmpty, string.Join("\n", errors));
        if (!killed.IsCancellationRequested)
        {
            // Delivery lagged so far behind that the kill condition never held: kill now, with the backlog queued.
            output.WriteLine($"killed after the last acknowledgement, {sink.Messages.Count} messages at the sink");
            killed.Cancel();
            relay.Kill();
        }
        int beforeRestart = sink.Messages.Count;

        await using ServerProcess restarted = await ServerProcess.StartAsync(settings, spoolPath: relay.SpoolPath, output: output);
        var expected = acknowledged.Keys.SelectMany(sender => Domains.Select(d => (sender, $"r@{d}"))).ToHashSet();
        DateTime deadline = DateTime.UtcNow.AddSeconds(60);
        HashSet<(string, string)> missing;
        while (true)
        {
            var delivered = sink.Messages.SelectMany(m => m.Recipients.Select(r => (m.Sender, r))).ToHashSet();
            missing = expected.Where(pair => !delivered.Contains(pair)).ToHashSet();
            if (missing.Count == 0 || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.True(missing.Count == 0, restarted.Failure($"{missing.Count} acknowledged recipient(s) never delivered, e.g. {string.Join(", ", missing.Take(5))}").Message);
        foreach (SinkMessage message in sink.Messages.Where(m => acknowledged.ContainsKey(m.Sender)))
        {
            byte[] content = MessageContent.SplitReceived(message.Data).Content;
            Assert.True(content.AsSpan().SequenceEqual(acknowledged[message.Sender]), $"message from {message.Sender} arrived altered: {MessageContent.Preview(message.Data)}");
        }

        int deliveries = sink.Messages.Sum(m => m.Recipients.Count);
        output.WriteLine($"{acknowledged.Count} messages acknowledged ({expected.Count} recipients); sink had {beforeRestart} messages at the kill; " +
                         $"{deliveries} recipient deliveries in all, {deliveries - expected.Count} repeated or unacknowledged");
    }
}
