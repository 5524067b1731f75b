using System.Collections.Concurrent;
using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace FastMta.EndToEnd.Tests;

// "250 means durable": kill -9 the server, restart it on the same spool, and every acknowledged message must be
// there exactly once with its exact content. Messages that never got a 250 may be present or not, but never torn.
// Both Mta:Spool:Durability modes promise this: Commit (on disk) and Relaxed (in the OS page cache, which outlives
// the killed process).
public sealed class CrashTests(ITestOutputHelper output)
{
    private const int Sessions = 8;
    private const int MessagesPerSession = 25; // 200 in all

    private sealed record Sent(string Sender, byte[] Content);

    private sealed class Ledger
    {
        public ConcurrentDictionary<string, Sent> Acknowledged { get; } = new();
        public ConcurrentDictionary<string, Sent> Attempted { get; } = new(); // by sender (unique per message)
        public ConcurrentQueue<string> SessionErrors { get; } = new();
    }

    // Deterministic, varied content: dot-leading lines, 8-bit text, and every 25th message larger than a spool chunk.
    private static byte[] Content(int session, int index, string sender)
    {
        var random = new Random(session * 1000 + index);
        int size = (session * MessagesPerSession + index) % 25 == 7 ? 300_000 + random.Next(50_000) : 200 + random.Next(8_000);
        var text = new StringBuilder(Encoding.UTF8.GetString(MessageContent.Simple(sender, "rcpt@dest.example",
            $"crash test {session}/{index}", "", $"<crash-{session}-{index}-{Guid.NewGuid():N}@client.test.example>")));
        for (int line = 0; text.Length < size; line++)
        {
            text.Append(random.Next(5) switch
            {
                0 => ".",
                1 => "..",
                2 => "Grüße ",
                _ => "",
            });
            text.Append(Convert.ToBase64String(BitConverter.GetBytes(random.NextInt64()))).Append(' ', random.Next(3))
                .Append(line).Append("\r\n");
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static async Task RunSessionAsync(ServerProcess server, int session, Ledger ledger, Action onAcknowledged,
        CancellationToken stop)
    {
        try
        {
            await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
            await client.EhloAsync($"session{session}.client.example");
            for (int i = 0; i < MessagesPerSession && !stop.IsCancellationRequested; i++)
            {
                string sender = $"s{session}m{i}@crash.example";
                var sent = new Sent(sender, Content(session, i, sender));
                ledger.Attempted[sender] = sent;
                await client.WriteAsync($"MAIL FROM:<{sender}>\r\nRCPT TO:<rcpt{i}@dest.example>\r\nDATA\r\n");
                await client.ExpectAsync(250, "2.1.0");
                await client.ExpectAsync(250, "2.1.5");
                await client.ExpectAsync(354);
                await client.WriteAsync(MessageContent.DotStuff(sent.Content));
                string id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
                if (!ledger.Acknowledged.TryAdd(id, sent))
                {
                    ledger.SessionErrors.Enqueue($"id {id} acknowledged twice");
                }
                onAcknowledged();
            }
        }
        catch (Exception ex) when (stop.IsCancellationRequested && ex is XunitException or IOException or System.Net.Sockets.SocketException)
        {
            // The server was killed under this session: its message in flight has no 250, so no promise was made.
        }
        catch (Exception ex)
        {
            ledger.SessionErrors.Enqueue($"session {session}: {ex}");
        }
    }

    private static string[] DurabilitySettings(string durability) => [$"Mta:Spool:Durability={durability}"];

    private async Task VerifyAfterRestartAsync(ServerProcess crashed, Ledger ledger, bool allMustBeAcknowledged)
    {
        Assert.True(ledger.SessionErrors.IsEmpty, string.Join("\n", ledger.SessionErrors) + "\n" + ServerProcess.FormatLog(crashed.Log));
        // The spool must recover and the server come up on it (/health 200) ...
        await using (ServerProcess restarted = await ServerProcess.StartAsync(crashed.Settings, spoolPath: crashed.SpoolPath, output: output))
        {
            await restarted.StopGracefullyAsync();
        }
        // ... and then every acknowledged message is in it, exactly once, byte for byte.
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(crashed.SpoolPath);
        var problems = new StringBuilder();
        foreach (var group in spool.GroupBy(e => e.Id).Where(g => g.Count() > 1))
        {
            problems.AppendLine($"id {group.Key} appears {group.Count()} times");
        }
        var byId = spool.GroupBy(e => e.Id).ToDictionary(g => g.Key, g => g.First());
        foreach (var (id, sent) in ledger.Acknowledged)
        {
            if (!byId.TryGetValue(id, out SpoolEntry? entry))
            {
                problems.AppendLine($"acknowledged message {id} from {sent.Sender} is missing");
            }
            else if (entry.Sender != sent.Sender || !entry.Content.AsSpan().SequenceEqual(sent.Content))
            {
                problems.AppendLine($"acknowledged message {id} from {sent.Sender} differs: stored {entry}");
            }
        }
        // Unacknowledged messages may have made it; if so, whole and correct.
        foreach (SpoolEntry entry in spool.Where(e => !ledger.Acknowledged.ContainsKey(e.Id)))
        {
            if (allMustBeAcknowledged)
            {
                problems.AppendLine($"message {entry} is in the spool but was never acknowledged");
            }
            else if (!ledger.Attempted.TryGetValue(entry.Sender, out Sent? sent) || !entry.Content.AsSpan().SequenceEqual(sent.Content))
            {
                problems.AppendLine($"unacknowledged message {entry} is not one that was sent, or is torn");
            }
        }
        if (problems.Length > 0)
        {
            throw SpoolAssert.Fail($"After kill -9 and restart ({ledger.Acknowledged.Count} acknowledged, {spool.Count} in the spool):\n{problems}",
                spool, crashed);
        }
        output.WriteLine($"{ledger.Acknowledged.Count} acknowledged, {ledger.Attempted.Count} attempted, {spool.Count} spooled");
    }

    [Theory]
    [InlineData("Commit")]
    [InlineData("Relaxed")]
    public async Task EveryAcknowledgedMessageSurvivesAKillNineRightAfterTheLastAcknowledgement(string durability)
    {
        await using ServerProcess server = await ServerProcess.StartAsync(DurabilitySettings(durability), output: output);
        var ledger = new Ledger();
        int total = Sessions * MessagesPerSession;
        int acknowledged = 0;
        await Task.WhenAll(Enumerable.Range(0, Sessions).Select(s => RunSessionAsync(server, s, ledger, () =>
        {
            if (Interlocked.Increment(ref acknowledged) == total)
            {
                server.Kill(); // the very moment the last 250 has been read; the clients are still connected
            }
        }, CancellationToken.None)));
        Assert.True(server.HasExited, server.Failure("The server was not killed: not every message was acknowledged.").Message);
        Assert.Equal(total, ledger.Acknowledged.Count);
        await VerifyAfterRestartAsync(server, ledger, allMustBeAcknowledged: true);
    }

    [Theory]
    [InlineData("Commit")]
    [InlineData("Relaxed")]
    public async Task EveryAcknowledgedMessageSurvivesAKillNineWhileOtherSessionsAreStillSending(string durability)
    {
        await using ServerProcess server = await ServerProcess.StartAsync(DurabilitySettings(durability), output: output);
        var ledger = new Ledger();
        using var killed = new CancellationTokenSource();
        int acknowledged = 0;
        await Task.WhenAll(Enumerable.Range(0, Sessions).Select(s => RunSessionAsync(server, s, ledger, () =>
        {
            if (Interlocked.Increment(ref acknowledged) == 100)
            {
                killed.Cancel();
                server.Kill(); // the other seven sessions are somewhere inside a transaction
            }
        }, killed.Token)));
        Assert.True(killed.IsCancellationRequested, server.Failure("The server was never killed.").Message);
        Assert.True(ledger.Acknowledged.Count >= 100);
        await VerifyAfterRestartAsync(server, ledger, allMustBeAcknowledged: false);
    }
}
