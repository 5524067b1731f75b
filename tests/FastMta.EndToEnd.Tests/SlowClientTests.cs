using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Slowloris: a client that keeps sending, one byte at a time, must not keep its session (and its slot) for ever. A
// command line must be complete within the command timeout; DATA and BDAT must arrive at the minimum data rate.
public sealed class SlowClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ByteInterval = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan CutOffBound = TimeSpan.FromSeconds(25);

    [Fact]
    public async Task AClientTricklingACommandLineIsCutOffAfterTheCommandTimeoutAlthoughItKeepsSending()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:CommandTimeout=00:00:02"], output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        // 3 bytes a second: every read re-armed the old idle timer, so this line never timed out.
        await ExpectCutOffWhileTricklingAsync(client, "MAIL FROM:<" + new string('a', 400), minimum: TimeSpan.FromSeconds(1.5));
        await server.WaitForNoSessionsAsync();
    }

    [Fact]
    public async Task AClientTricklingDataBelowTheMinimumRateGets421AndNothingIsSpooled()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Limits:MinDataRate=100", "Mta:Limits:MinDataRateGracePeriod=00:00:02"], output: output);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<trickle@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await ExpectCutOffWhileTricklingAsync(client, "Subject: slow\r\n\r\n" + new string('x', 4000), minimum: TimeSpan.FromSeconds(1.5));
        }
        await server.WaitForNoSessionsAsync();
        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolAssert.None(spool, e => e.Sender == "trickle@x.example", "from the client trickling DATA", server);
    }

    [Fact]
    public async Task AClientTricklingABdatChunkBelowTheMinimumRateGets421()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Limits:MinDataRate=100", "Mta:Limits:MinDataRateGracePeriod=00:00:02"], output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<trickle@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
        await client.WriteAsync("BDAT 100000 LAST\r\n");
        await ExpectCutOffWhileTricklingAsync(client, "Subject: slow\r\n\r\n" + new string('x', 4000), minimum: TimeSpan.FromSeconds(1.5));
        await server.WaitForNoSessionsAsync();
    }

    [Fact]
    public async Task AMessageSentAtANormalRateIsNotCutOffByTheMinimumRate()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Limits:MinDataRate=100", "Mta:Limits:MinDataRateGracePeriod=00:00:03"], output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
        await client.CommandAsync("DATA", 354);
        // 1 KiB every 200 ms (5 KiB/s, 50 times the minimum) for 5 s: well past the grace period.
        var sent = Stopwatch.StartNew();
        await client.WriteAsync("Subject: steady\r\n\r\n");
        while (sent.Elapsed < TimeSpan.FromSeconds(5))
        {
            await client.WriteAsync(new string('y', 1022) + "\r\n");
            await Task.Delay(200);
        }
        await client.WriteAsync(".\r\n");
        await client.ExpectAsync(250, "2.0.0");
        await client.CommandAsync("QUIT", 221, "2.0.0");
    }

    [Fact]
    public async Task ANormalClientIsServedWhileTricklingClientsHoldEverySlot()
    {
        const int Slots = 4;
        await using ServerProcess server = await ServerProcess.StartAsync(
            [$"Mta:Limits:MaxConnections={Slots}", "Mta:Limits:CommandTimeout=00:00:03"], output: output);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var trickling = new List<RawSmtpClient>();
        var trickles = new List<Task>();
        try
        {
            for (int i = 0; i < Slots; i++)
            {
                RawSmtpClient slow = await RawSmtpClient.ConnectAsync(server);
                trickling.Add(slow);
                trickles.Add(TrickleAsync(slow, "EHLO " + new string('s', 400), stop.Token));
            }
            await server.WaitForSessionCountAsync(Slots);

            // Every slot is held; the trickling sessions must be cut off so that this client gets in.
            var waited = Stopwatch.StartNew();
            while (true)
            {
                await using RawSmtpClient normal = await RawSmtpClient.ConnectAsync(server, readBanner: false);
                SmtpReply banner = await normal.ReadReplyAsync();
                if (banner.Code == 220)
                {
                    await normal.EhloAsync();
                    await normal.SendMessageAsync("a@x.example", ["b@y.example"],
                        MessageContent.Simple("a@x.example", "b@y.example", "served", "Hi.\r\n"));
                    await normal.CommandAsync("QUIT", 221, "2.0.0");
                    break;
                }
                Assert.Equal(421, banner.Code);
                if (waited.Elapsed > CutOffBound)
                {
                    throw server.Failure($"A normal client still got 421 after {waited.Elapsed} while {Slots} clients trickled commands.");
                }
                await Task.Delay(250);
            }
        }
        finally
        {
            stop.Cancel();
            await Task.WhenAll(trickles);
            foreach (RawSmtpClient slow in trickling)
            {
                await slow.DisposeAsync();
            }
        }
    }

    // Writes the text one byte every ByteInterval (in the background, until the server closes the connection) and
    // expects 421 4.4.2 and the close, no sooner than minimum and no later than CutOffBound.
    private static async Task ExpectCutOffWhileTricklingAsync(RawSmtpClient client, string text, TimeSpan minimum)
    {
        using var stop = new CancellationTokenSource(CutOffBound + TimeSpan.FromSeconds(10));
        var elapsed = Stopwatch.StartNew();
        Task trickle = TrickleAsync(client, text, stop.Token);
        client.Timeout = CutOffBound;
        try
        {
            await client.ExpectAsync(421, "4.4.2");
            await client.ExpectClosedAsync();
        }
        finally
        {
            stop.Cancel();
            await trickle;
        }
        Assert.True(elapsed.Elapsed >= minimum, $"421 came after {elapsed.Elapsed}, before {minimum}");
    }

    private static async Task TrickleAsync(RawSmtpClient client, string text, CancellationToken stop)
    {
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        try
        {
            for (int i = 0; i < bytes.Length && !stop.IsCancellationRequested; i++)
            {
                await client.WriteAsync(bytes.AsMemory(i, 1));
                await Task.Delay(ByteInterval, stop);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException
                                       or Xunit.Sdk.XunitException or SocketException)
        {
            // The server closed the connection (what the test waits for) or the test is over.
        }
    }
}

// Mta:Limits:MaxConnectionsPerClient: one address cannot take every slot.
public sealed class PerClientConnectionLimitTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("Mta:Limits:MaxConnectionsPerClient", "0")]
    [InlineData("Mta:Limits:MinDataRate", "-1")]
    [InlineData("Mta:Limits:MinDataRateGracePeriod", "soon")]
    [InlineData("Mta:Limits:ExemptRelayNetworks", "maybe")]
    public async Task AnInvalidSlowClientLimitStopsStartUpWithTheKeyNamed(string key, string value)
    {
        ToolResult result = await InvalidConfiguration.StartUpFailsAsync($"{key}={value}");
        Assert.Contains(key, result.Stderr);
    }

    [Fact]
    public async Task TheConnectionOverThePerClientLimitGets421AndTheNextIsAdmittedOnceOneCloses()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:MaxConnectionsPerClient=3"], output: output);
        var open = new List<TcpClient>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                open.Add(await ConnectAsync(server, IPAddress.Loopback, expectCode: 220));
            }
            using (TcpClient refused = await ConnectAsync(server, IPAddress.Loopback, expectCode: 421,
                       expectText: "421 4.7.0 Too many connections from your address"))
            {
                await ExpectClosedAsync(server, refused);
            }
            open[0].Dispose();
            open.RemoveAt(0);
            await server.WaitForSessionCountAsync(2);
            open.Add(await ConnectAsync(server, IPAddress.Loopback, expectCode: 220));
            string metrics = await GetMetricsAsync(server);
            Assert.Matches(@"(?m)^fastmta_smtp_connections_refused_per_client_total(\{\})? 1$", metrics);
        }
        finally
        {
            open.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task RelayNetworksAreExemptWhenConfiguredAndOtherAddressesAreStillLimited()
    {
        // 127.0.0.1 relays (and is exempt); 127.0.0.2 is another loopback address, outside the relay networks.
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Limits:MaxConnectionsPerClient=2", "Mta:Limits:ExemptRelayNetworks=true", "Mta:Relay:Networks=127.0.0.1/32"],
            output: output);
        var open = new List<TcpClient>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                open.Add(await ConnectAsync(server, IPAddress.Loopback, expectCode: 220));
            }
            var other = IPAddress.Parse("127.0.0.2");
            open.Add(await ConnectAsync(server, other, expectCode: 220));
            open.Add(await ConnectAsync(server, other, expectCode: 220));
            using TcpClient refused = await ConnectAsync(server, other, expectCode: 421);
            await ExpectClosedAsync(server, refused);
        }
        finally
        {
            open.ForEach(c => c.Dispose());
        }
    }

    // Connects from the given local address and reads the first reply line.
    private static async Task<TcpClient> ConnectAsync(ServerProcess server, IPAddress local, int expectCode, string? expectText = null)
    {
        var tcp = new TcpClient(new IPEndPoint(local, 0));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, server.SmtpPort, cts.Token);
            string line = await ReadLineAsync(tcp, cts.Token);
            if (!line.StartsWith(expectCode.ToString(), StringComparison.Ordinal) || (expectText is not null && line != expectText))
            {
                throw server.Failure($"Connecting from {local}: expected {expectCode} {expectText}, got '{line}'.");
            }
            return tcp;
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            tcp.Dispose();
            throw server.Failure($"Connecting from {local} failed: {ex.Message}");
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static async Task<string> ReadLineAsync(TcpClient tcp, CancellationToken cancel)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (await tcp.GetStream().ReadAsync(one, cancel) == 1)
        {
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }
            line.Append((char)one[0]);
        }
        return line.ToString();
    }

    private static async Task ExpectClosedAsync(ServerProcess server, TcpClient tcp)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int n = await tcp.GetStream().ReadAsync(new byte[64], cts.Token);
            Assert.True(n == 0, "The server sent more after its 421 instead of closing the connection.");
        }
        catch (IOException)
        {
            // reset: closed as well
        }
        catch (OperationCanceledException)
        {
            throw server.Failure("The server did not close the connection after its 421.");
        }
    }

    internal static async Task<string> GetMetricsAsync(ServerProcess server)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await http.GetStringAsync($"http://127.0.0.1:{server.HttpPort}/metrics");
    }
}

// Clients that pipeline commands and never read the replies: the server must stop reading their input once replies
// pile up, give up on a write that makes no progress, and keep its memory bounded.
public sealed class NonReadingClientTests(ITestOutputHelper output)
{
    private const int Clients = 50;
    private const int BytesPerClient = 8 << 20; // 8 MiB of NOOP/RSET lines each, far more than any buffer on the way

    [Fact]
    public async Task NonReadingPipeliningClientsAreCutOffAndTheServersMemoryStaysBounded()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(
            ["Mta:Limits:CommandTimeout=00:00:05", $"Mta:Limits:MaxConnectionsPerClient={Clients + 10}"], output: output);
        // Warm up (JIT, pools) with one ordinary session, then take the baseline.
        await using (RawSmtpClient warm = await RawSmtpClient.ConnectAsync(server))
        {
            await warm.EhloAsync();
            await warm.CommandAsync("QUIT", 221, "2.0.0");
        }
        await server.WaitForNoSessionsAsync();
        long baseline = ReadRssKiB(server);

        byte[] chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("NOOP\r\nRSET\r\n", 64 * 1024 / 12)));
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var sockets = new List<Socket>();
        long peak = baseline;
        try
        {
            var flooders = new List<Task<string>>();
            for (int i = 0; i < Clients; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                sockets.Add(socket);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.SmtpPort), bound.Token);
                flooders.Add(FloodAsync(socket, chunk, bound.Token));
            }

            Task<string[]> all = Task.WhenAll(flooders);
            while (!all.IsCompleted)
            {
                peak = Math.Max(peak, ReadRssKiB(server));
                await Task.WhenAny(all, Task.Delay(200));
            }
            string[] outcomes = await all;
            peak = Math.Max(peak, ReadRssKiB(server));
            output.WriteLine($"RSS baseline {baseline / 1024} MiB, peak {peak / 1024} MiB; outcomes: " +
                             string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key} x{g.Count()}")));
            int notCut = outcomes.Count(o => o != "closed by server");
            if (notCut > 0)
            {
                throw server.Failure($"{notCut} of {Clients} non-reading clients were not disconnected by the server: " +
                                     string.Join(", ", outcomes.Distinct()));
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
        await server.WaitForNoSessionsAsync(TimeSpan.FromSeconds(30));

        // Each session may hold its input buffer (up to 1 MiB in Kestrel's transport) and a bounded reply backlog;
        // without the bound each held about three times its input in unflushed replies and never let go.
        long growthMiB = (peak - baseline) / 1024;
        Assert.True(growthMiB < 120, $"RSS grew by {growthMiB} MiB (baseline {baseline / 1024} MiB) with {Clients} non-reading clients");
        string metrics = await PerClientConnectionLimitTests.GetMetricsAsync(server);
        string counted = string.Join("\n", metrics.Split('\n').Where(l => l.StartsWith("fastmta_smtp_slow_clients_total", StringComparison.Ordinal)
                                                                      || l.StartsWith("fastmta_smtp_sessions_ended_total", StringComparison.Ordinal)));
        // Each session ends on the stalled write; on a loaded machine a flooder starved for the command timeout in the
        // middle of a line is cut off by the command deadline instead (also correct). Nothing else may end them.
        long writeTimeouts = Count(counted, "fastmta_smtp_sessions_ended_total{how=\"write_timeout\"}");
        long commandTimeouts = Count(counted, "fastmta_smtp_sessions_ended_total{how=\"timeout\"}");
        Assert.True(writeTimeouts + commandTimeouts == Clients && writeTimeouts >= Clients / 2
                    && Count(counted, "fastmta_smtp_slow_clients_total{reason=\"write_stalled\"}") == writeTimeouts,
            $"expected {Clients} sessions ended by write_timeout (or a few by timeout), each counted as write_stalled:\n{counted}");
    }

    [Fact]
    public async Task ANonReadingClientIsCutOffUnderTlsToo()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:CommandTimeout=00:00:03"], output: output);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.SmtpPort), bound.Token);
        await using var plain = new NetworkStream(socket, ownsSocket: false);
        await ExpectLineAsync(server, plain, "220 ", bound.Token);
        await plain.WriteAsync("EHLO tls.client.example\r\n"u8.ToArray(), bound.Token);
        await ExpectLineAsync(server, plain, "250 ", bound.Token);
        await plain.WriteAsync("STARTTLS\r\n"u8.ToArray(), bound.Token);
        await ExpectLineAsync(server, plain, "220 ", bound.Token);
        await using var tls = new System.Net.Security.SslStream(plain, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = ServerProcess.Hostname,
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        }, bound.Token);

        byte[] chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("NOOP\r\n", 16 * 1024 / 6)));
        var elapsed = Stopwatch.StartNew();
        long sent = 0;
        try
        {
            while (true)
            {
                await tls.WriteAsync(chunk, bound.Token);
                sent += chunk.Length;
            }
        }
        catch (IOException)
        {
            // the server aborted the connection: what this test waits for
        }
        catch (OperationCanceledException)
        {
            throw server.Failure($"A non-reading client under TLS was not disconnected within {elapsed.Elapsed} ({sent} bytes sent).");
        }
        output.WriteLine($"Cut off after {elapsed.Elapsed}, {sent} bytes sent");
        await server.WaitForNoSessionsAsync();
        string metrics = await PerClientConnectionLimitTests.GetMetricsAsync(server);
        Assert.Matches(@"(?m)^fastmta_smtp_sessions_ended_total\{how=""write_timeout""\} 1$", metrics);
    }

    // Reads lines (one byte at a time: nothing beyond them may be consumed before TLS) until one starts with prefix.
    private static async Task ExpectLineAsync(ServerProcess server, Stream stream, string prefix, CancellationToken cancel)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (await stream.ReadAsync(one, cancel) == 1)
        {
            if (one[0] != '\n')
            {
                line.Append((char)one[0]);
                continue;
            }
            string text = line.ToString().TrimEnd('\r');
            if (text.StartsWith(prefix, StringComparison.Ordinal))
            {
                return;
            }
            if (text.Length < 4 || text[3] != '-')
            {
                throw server.Failure($"Expected a line starting '{prefix}', got '{text}'.");
            }
            line.Clear();
        }
        throw server.Failure($"The connection closed before a line starting '{prefix}'.");
    }

    private static long Count(string metrics, string series)
    {
        Match match = Regex.Match(metrics, "(?m)^" + Regex.Escape(series) + @" (\d+)$");
        return match.Success ? long.Parse(match.Groups[1].Value) : 0;
    }

    // Sends up to BytesPerClient of pipelined commands without ever reading; the outcome is how it ended.
    private static async Task<string> FloodAsync(Socket socket, byte[] chunk, CancellationToken bound)
    {
        int sent = 0;
        try
        {
            while (sent < BytesPerClient)
            {
                sent += await socket.SendAsync(chunk, SocketFlags.None, bound);
            }
            // Everything is sent (the server kept reading?): wait for the close.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(bound);
            byte[] sink = new byte[64 * 1024];
            while (await socket.ReceiveAsync(sink, SocketFlags.None, wait.Token) > 0)
            {
            }
            return "closed by server";
        }
        catch (SocketException ex) when (!bound.IsCancellationRequested)
        {
            // reset: the server aborted the connection
            return ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown
                ? "closed by server" : $"socket error {ex.SocketErrorCode}";
        }
        catch (SocketException)
        {
            return sent >= BytesPerClient ? "all sent, never closed" : "stalled, never closed";
        }
        catch (OperationCanceledException)
        {
            return sent >= BytesPerClient ? "all sent, never closed" : "stalled, never closed";
        }
    }

    private static long ReadRssKiB(ServerProcess server)
    {
        foreach (string line in File.ReadLines($"/proc/{server.ProcessId}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
            }
        }
        throw server.Failure("VmRSS missing from /proc/<pid>/status");
    }
}
