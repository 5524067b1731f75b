using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Inbound;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// AUTH under attack (issue 12, findings 7 and 8): the password check runs off the session's I/O path with a bounded
// concurrency, the per-address failure budget is exact under concurrent attempts, a global budget refuses AUTH for
// everyone once spent, and an unknown user costs as much as a wrong password. Every server here has a real PBKDF2
// hash (100,000 iterations, as `hash-password` makes) so a verification costs what it costs in production.
// One class: its tests run one after the other, so the flood of one cannot slow the timings of another.
public sealed class AuthHardeningTests(ITestOutputHelper output)
{
    private const string Password = "correct horse battery staple";
    private static readonly string AliceHash = PasswordHasher.Hash(Password);

    private static string PlainResponse(string user, string password) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    private static string[] Settings(params string[] more) =>
        [$"Mta:Auth:Users:alice={AliceHash}", "Mta:Auth:AllowPlaintext=true", .. more];

    [Fact]
    public async Task TenConcurrentWrongPasswordsFromOneAddressVerifyExactlyTheBudgetAndTheRestGet454()
    {
        // A long verifier wait: on a loaded machine no attempt may be refused as "busy" instead of checked.
        await using ServerProcess server = await ServerProcess.StartAsync(Settings("Mta:Auth:MaxVerificationWait=00:02:00"), output: output);
        // Two rounds from two fresh addresses: a limiter that counts after verifying lets more through in either.
        foreach (string address in (string[])["127.0.0.2", "127.0.0.3"])
        {
            var clients = new List<RawSmtpClient>();
            try
            {
                for (int i = 0; i < 10; i++)
                {
                    RawSmtpClient client = await RawSmtpClient.ConnectFromAsync(server, IPAddress.Parse(address));
                    clients.Add(client);
                    client.Timeout = TimeSpan.FromSeconds(60);
                    await client.EhloAsync();
                }
                string line = "AUTH PLAIN " + PlainResponse("alice", "wrong") + "\r\n";
                await Task.WhenAll(clients.Select(c => c.WriteAsync(line))); // all ten in flight at once
                SmtpReply[] replies = await Task.WhenAll(clients.Select(c => c.ReadReplyAsync()));

                string summary = $"from {address}: " + string.Join(", ", replies.Select(r => r.ToString()));
                output.WriteLine(summary);
                int verified = replies.Count(r => r.Code == 535);
                int refused = replies.Count(r => r.Code == 454 && r.EnhancedCode == "4.7.0");
                Assert.True(verified == 5 && refused == 5,
                    server.Failure($"Expected exactly 5 verified (535) and 5 refused (454 4.7.0) {summary}").Message);
            }
            finally
            {
                foreach (RawSmtpClient client in clients)
                {
                    await client.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task AnAddressThatSpentItsBudgetMayTryAgainOnceItsWindowIsOverAndASuccessDoesNotResetIt()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            Settings("Mta:Auth:MaxFailures=2", "Mta:Auth:FailureWindow=00:00:05"), output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectFromAsync(server, IPAddress.Parse("127.0.0.2"));
        await client.EhloAsync();
        var window = Stopwatch.StartNew(); // starts no later than the server's window (at the first failure)
        await client.AuthPlainAsync("alice", "wrong1", 535, "5.7.8");
        await client.AuthPlainAsync("alice", Password, 235, "2.7.0"); // a success gives back only its own place

        await using RawSmtpClient second = await RawSmtpClient.ConnectFromAsync(server, IPAddress.Parse("127.0.0.2"));
        await second.EhloAsync();
        await second.AuthPlainAsync("alice", "wrong2", 535, "5.7.8");
        if (window.Elapsed < TimeSpan.FromSeconds(4)) // else the machine was too slow to see the window from inside
        {
            await second.AuthPlainAsync("alice", Password, 454, "4.7.0"); // 2 failures: spent, the success did not reset it
        }
        TimeSpan rest = TimeSpan.FromSeconds(5.5) - window.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest);
        }
        await second.AuthPlainAsync("alice", Password, 235, "2.7.0"); // a new window
    }

    [Fact]
    public async Task AttemptsThatFindNoFreeVerifierWithinTheWaitGet454AndTheOthersAreChecked()
    {
        // One verifier thread and a 1 ms wait: of 20 attempts sent at once, the one being checked (tens of ms of
        // PBKDF2) makes the others wait past the limit.
        await using ServerProcess server = await ServerProcess.StartAsync(
            Settings("Mta:Auth:MaxConcurrentVerifications=1", "Mta:Auth:MaxVerificationWait=00:00:00.001", "Mta:Auth:MaxFailures=1000"),
            output: output);
        var clients = new List<RawSmtpClient>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
                clients.Add(client);
                client.Timeout = TimeSpan.FromSeconds(60);
                await client.EhloAsync();
            }
            string line = "AUTH PLAIN " + PlainResponse("alice", "wrong") + "\r\n";
            await Task.WhenAll(clients.Select(c => c.WriteAsync(line)));
            SmtpReply[] replies = await Task.WhenAll(clients.Select(c => c.ReadReplyAsync()));
            string summary = string.Join(", ", replies.Select(r => r.ToString()));
            output.WriteLine(summary);
            int verified = replies.Count(r => r.Code == 535);
            int busy = replies.Count(r => r.Code == 454 && r.EnhancedCode == "4.7.0" && r.Lines[^1].Contains("Temporary"));
            Assert.True(verified >= 1 && busy >= 1 && verified + busy == replies.Length,
                server.Failure($"Expected some 535 and some 454 4.7.0 Temporary authentication failure: {summary}").Message);
            foreach (RawSmtpClient client in clients)
            {
                await client.CommandAsync("NOOP", 250, "2.0.0"); // every session goes on
            }
        }
        finally
        {
            foreach (RawSmtpClient client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task OnceTheGlobalFailureBudgetIsSpentAuthGets454FromEveryAddress()
    {
        string python = ExternalTool.Require("python3", "python3");
        await using ServerProcess server = await ServerProcess.StartAsync(
            Settings("Mta:Auth:MaxFailures=100", "Mta:Auth:MaxFailuresPerMinute=4"), output: output);

        // Four failures from two addresses, two each: no address is near its own budget of 100.
        foreach (string address in (string[])["127.0.0.2", "127.0.0.3"])
        {
            await using RawSmtpClient client = await RawSmtpClient.ConnectFromAsync(server, IPAddress.Parse(address));
            await client.EhloAsync();
            await client.AuthPlainAsync("alice", "wrong1", 535, "5.7.8");
            await client.AuthPlainAsync("mallory", "wrong2", 535, "5.7.8");
        }

        // The budget is spent: a third address is refused, even with the right password, by smtplib and a raw client.
        ToolResult result = await ExternalTool.RunAsync(python,
            [RepoLayout.ScriptPath("smtplib_auth.py"), server.SmtpPort.ToString(), "127.0.0.4", "alice", "wrong3"],
            TimeSpan.FromSeconds(60));
        Assert.True(result.ExitCode == 0 && result.Stdout.Contains("AUTH 454 4.7.0", StringComparison.Ordinal),
            server.Failure($"smtplib from 127.0.0.4 was not refused with 454 4.7.0: {result}").Message);

        await using RawSmtpClient fresh = await RawSmtpClient.ConnectFromAsync(server, IPAddress.Parse("127.0.0.5"));
        await fresh.EhloAsync();
        await fresh.AuthPlainAsync("alice", Password, 454, "4.7.0");
        await fresh.CommandAsync("NOOP", 250, "2.0.0"); // the session goes on; only AUTH is refused
    }

    [Fact]
    public async Task ANormalClientsMessagesStayFastWhileAWrongPasswordFloodRuns()
    {
        // Budgets out of the way: this is about where the hashing runs, not about refusing it.
        await using ServerProcess server = await ServerProcess.StartAsync(
            Settings("Mta:Auth:MaxFailures=1000000", "Mta:Auth:MaxFailuresPerMinute=1000000", "Mta:Limits:MaxErrors=100000",
                "Mta:Limits:MaxConnectionsPerClient=200"), // the flood opens 48 connections from 127.0.0.1
            output: output);

        TimeSpan baseline = (await SendMessagesAsync(server, 1))[0];

        // 48 connections, each pipelining 20 wrong-password AUTH commands per write: inline, each write held the
        // session's thread for 20 PBKDF2 computations (~1 s), and 48 of them starved every thread there was (the
        // thread pool grows by about a thread per half second; before it caught up a message took seconds).
        using var stop = new CancellationTokenSource();
        var codes = new ConcurrentDictionary<int, int>();
        int replies = 0;
        string burst = string.Concat(Enumerable.Repeat("AUTH PLAIN " + PlainResponse("alice", "wrong") + "\r\n", 20));
        var open = new ConcurrentDictionary<RawSmtpClient, bool>();
        Task[] flood = Enumerable.Range(0, 48).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
                open[client] = true;
                try
                {
                    client.Timeout = TimeSpan.FromSeconds(120);
                    await client.EhloAsync();
                    for (int round = 0; round < 5 && !stop.IsCancellationRequested; round++)
                    {
                        await client.WriteAsync(burst);
                        for (int i = 0; i < 20; i++)
                        {
                            SmtpReply reply = await client.ReadReplyAsync();
                            codes.AddOrUpdate(reply.Code, 1, (_, n) => n + 1);
                            Interlocked.Increment(ref replies);
                        }
                    }
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return; // its connection was closed under it: the flood is over
                }
                finally
                {
                    open.TryRemove(client, out bool _);
                    await client.DisposeAsync();
                }
            }
        })).ToArray();

        TimeSpan[] underFlood;
        int verifiedDuring;
        try
        {
            var wait = Stopwatch.StartNew();
            while (codes.GetValueOrDefault(535) < 10 && wait.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(50);
            }
            Assert.True(codes.GetValueOrDefault(535) >= 10, server.Failure("The AUTH flood got fewer than 10 535s in 60 s.").Message);
            int before = Volatile.Read(ref replies);
            underFlood = await SendMessagesAsync(server, 5);
            verifiedDuring = Volatile.Read(ref replies) - before;
        }
        finally
        {
            stop.Cancel();
            foreach (RawSmtpClient client in open.Keys)
            {
                await client.DisposeAsync(); // resets the connection: the server drops the AUTHs still buffered
            }
            try
            {
                await Task.WhenAll(flood).WaitAsync(TimeSpan.FromSeconds(120));
            }
            catch (Exception ex) when (ex is not TimeoutException)
            {
                output.WriteLine($"flood client ended with: {ex.Message}");
            }
        }

        TimeSpan median = underFlood.Order().ElementAt(underFlood.Length / 2);
        string report = $"baseline {baseline.TotalMilliseconds:F0} ms; under the flood " +
                        string.Join(", ", underFlood.Select(t => $"{t.TotalMilliseconds:F0}")) + $" ms (median {median.TotalMilliseconds:F0}); " +
                        $"flood replies during the sends {verifiedDuring}, in all: " + string.Join(", ", codes.Select(p => $"{p.Key} x {p.Value}"));
        output.WriteLine(report);
        Assert.True(median < TimeSpan.FromSeconds(1) && underFlood.Max() < TimeSpan.FromSeconds(2),
            server.Failure($"A normal client's messages took too long (median must be < 1 s, each < 2 s): {report}").Message);
    }

    [Fact]
    public async Task AuthForAnUnknownUserTakesAsLongAsAWrongPasswordForAKnownOne()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            Settings("Mta:Auth:MaxFailures=1000", "Mta:Auth:MaxFailuresPerMinute=1000", "Mta:Limits:MaxErrors=1000"),
            output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        client.Timeout = TimeSpan.FromSeconds(30);
        await client.EhloAsync();

        async Task<double> TimeAsync(string user)
        {
            var watch = Stopwatch.StartNew();
            await client.AuthPlainAsync(user, "wrong", 535, "5.7.8");
            return watch.Elapsed.TotalMilliseconds;
        }

        await TimeAsync("alice"); // warm-up (JIT, first PBKDF2)
        await TimeAsync("nobody");
        var known = new List<double>();
        var unknown = new List<double>();
        for (int i = 0; i < 15; i++)
        {
            known.Add(await TimeAsync("alice"));
            unknown.Add(await TimeAsync($"nobody{i}"));
        }
        double knownMedian = known.Order().ElementAt(known.Count / 2);
        double unknownMedian = unknown.Order().ElementAt(unknown.Count / 2);
        string report = $"known user, wrong password: median {knownMedian:F1} ms ({string.Join(", ", known.Select(t => t.ToString("F1")))}); " +
                        $"unknown user: median {unknownMedian:F1} ms ({string.Join(", ", unknown.Select(t => t.ToString("F1")))})";
        output.WriteLine(report);
        Assert.True(unknownMedian >= 0.5 * knownMedian && unknownMedian <= 2 * knownMedian,
            server.Failure($"AUTH timing tells unknown users from known ones: {report}").Message);
    }

    [Theory]
    [InlineData("MaxConcurrentVerifications", "0")]
    [InlineData("MaxConcurrentVerifications", "100000")]
    [InlineData("MaxFailuresPerMinute", "0")]
    [InlineData("MaxFailuresPerMinute", "lots")]
    [InlineData("MaxVerificationWait", "-00:00:01")]
    public async Task AnInvalidAuthLimitStopsStartUpWithTheKeyNamed(string key, string value)
    {
        ToolResult result = await InvalidConfiguration.StartUpFailsAsync($"Mta:Auth:{key}={value}");
        Assert.Contains($"Mta:Auth:{key}", result.Stderr);
    }

    // Sends `count` messages over one MailKit connection from 127.0.0.1 (a relay network: no AUTH needed); the time of
    // each SendAsync (MAIL, RCPT, DATA and the 250 after the spool's commit).
    private static async Task<TimeSpan[]> SendMessagesAsync(ServerProcess server, int count)
    {
        var times = new TimeSpan[count];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        using var client = new SmtpClient { LocalDomain = "mailkit.test.example", Timeout = 120_000 };
        await client.ConnectAsync("127.0.0.1", server.SmtpPort, SecureSocketOptions.None, cts.Token);
        for (int i = 0; i < count; i++)
        {
            var message = new MimeMessage([new MailboxAddress("App", "app@sender.example")],
                [new MailboxAddress("Bob", "bob@receiver.example")], $"message {i}", new TextPart("plain") { Text = "Hello.\r\n" });
            var watch = Stopwatch.StartNew();
            await client.SendAsync(message, cts.Token);
            times[i] = watch.Elapsed;
        }
        await client.DisconnectAsync(quit: true, cts.Token);
        return times;
    }
}
