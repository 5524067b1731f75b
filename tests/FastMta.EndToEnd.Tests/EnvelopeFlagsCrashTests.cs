using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The envelope's typed flags (SMTPUTF8, BODY=8BITMIME: bits of the envelope record since the architecture step) are
// state the spool keeps for the queue: after a kill -9 and a restart on the same spool, the relay still passes on
// what each client declared, and declares nothing a client did not. The senders and recipients are ASCII, so only the
// stored flags can make the relay say SMTPUTF8.
public sealed class EnvelopeFlagsCrashTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Declared_SMTPUTF8_and_8BITMIME_survive_a_kill_nine_and_reach_the_next_hop()
    {
        await using var sink = new LoopbackSmtpSink();
        string[] routed = ["Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}"];
        await using ServerProcess relay = await ServerProcess.StartAsync([.. routed, "Mta:Delivery:Paused=true"], output: output);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<declared@flags.test> SMTPUTF8 BODY=8BITMIME", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<r@a.test>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync(MessageContent.DotStuff(MessageContent.Simple("declared@flags.test", "r@a.test", "flags", "Grüße\r\n")));
            await client.ExpectAsync(250, "2.0.0");
            await client.SendMessageAsync("plain@flags.test", ["r@a.test"],
                MessageContent.Simple("plain@flags.test", "r@a.test", "no flags", "plain\r\n"));
        }

        relay.Kill(); // both were acknowledged; delivery is paused, so both wait in the spool

        await using ServerProcess restarted = await ServerProcess.StartAsync(routed, spoolPath: relay.SpoolPath, output: output);
        await sink.WaitForMessagesAsync(2, TimeSpan.FromSeconds(30));
        string[] mailFrom = sink.Commands.Select(c => c.Line).Where(l => l.StartsWith("MAIL FROM:", StringComparison.OrdinalIgnoreCase)).ToArray();
        string declared = Assert.Single(mailFrom, l => l.Contains("<declared@flags.test>", StringComparison.Ordinal));
        string plain = Assert.Single(mailFrom, l => l.Contains("<plain@flags.test>", StringComparison.Ordinal));
        Assert.Contains(" SMTPUTF8", declared, StringComparison.Ordinal);
        Assert.Contains(" BODY=8BITMIME", declared, StringComparison.Ordinal);
        Assert.DoesNotContain("SMTPUTF8", plain, StringComparison.Ordinal);
        Assert.DoesNotContain("BODY=", plain, StringComparison.Ordinal);
    }
}
