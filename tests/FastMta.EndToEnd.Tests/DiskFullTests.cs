using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// A real full disk: the spool on a small tmpfs, filled by a filler file. The client must hear 452 4.3.1 at DATA,
// then at MAIL while the spool is latched unavailable; /health says 503 with ENOSPC in words; the spool takes mail
// again by itself once the filler is deleted; and after a restart every acknowledged message is there, once.
public sealed partial class DiskFullTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [SkippableFact]
    public async Task AFullDiskIsRefusedWith452AtDataThenAtMailReportedInHealthAndRecoveredWithoutARestart()
    {
        Skip.IfNot(IsRoot(), "DiskFullTests needs root to mount a tmpfs (mount -t tmpfs); run the tests as root to include it.");
        string mount = Path.Combine(Path.GetTempPath(), "fastmta-diskfull", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mount);
        Run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount);
        try
        {
            await RunAsync(Path.Combine(mount, "spool"), Path.Combine(mount, "filler"));
        }
        finally
        {
            Run("umount", mount);
            Directory.Delete(mount, recursive: true);
        }
    }

    private async Task RunAsync(string spoolPath, string filler)
    {
        var acknowledged = new Dictionary<string, (string Sender, byte[] Content)>();
        string[] settings;
        await using (ServerProcess server = await ServerProcess.StartAsync(spoolPath: spoolPath, output: output))
        {
            settings = [.. server.Settings];
            await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
            await client.EhloAsync();
            for (int i = 0; i < 3; i++)
            {
                string sender = $"before{i}@full.example";
                byte[] content = Content(sender, 5_000);
                acknowledged.Add(await client.SendMessageAsync(sender, ["rcpt@dest.example"], content), (sender, content));
            }

            long filled = Fill(filler);
            output.WriteLine($"filler: {filled} bytes");

            // Until a message cannot be stored: the first refusal comes at the end of its DATA, 452 4.3.1.
            SmtpReply? refusal = null;
            for (int i = 0; i < 100 && refusal is null; i++)
            {
                string sender = $"fill{i}@full.example";
                await client.WriteAsync($"MAIL FROM:<{sender}>\r\nRCPT TO:<rcpt@dest.example>\r\nDATA\r\n");
                await client.ExpectAsync(250, "2.1.0");
                await client.ExpectAsync(250, "2.1.5");
                await client.ExpectAsync(354);
                byte[] content = Content(sender, 20_000);
                await client.WriteAsync(MessageContent.DotStuff(content));
                SmtpReply reply = await client.ReadReplyAsync();
                if (reply.Code == 250)
                {
                    acknowledged.Add(reply.QueuedId, (sender, content));
                }
                else
                {
                    refusal = reply;
                }
            }
            Assert.NotNull(refusal);
            Assert.Equal((452, "4.3.1"), (refusal!.Code, refusal.EnhancedCode));

            // Latched: MAIL (and so RCPT) is refused before the client sends a body.
            SmtpReply mail = await client.CommandAsync("MAIL FROM:<early@full.example>", 452, "4.3.1");
            output.WriteLine($"MAIL while full: {mail}");

            (HttpStatusCode healthStatus, string health) = await GetAsync(server, "/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, healthStatus);
            Assert.Contains("No space left on device (ENOSPC, errno 28)", health);
            string metrics = (await GetAsync(server, "/metrics")).Body;
            Assert.Matches(AvailableZero(), metrics);
            Assert.Matches(NoSpaceFailures(), metrics);
            Assert.Contains("No space left on device (ENOSPC, errno 28)", server.Log);
            Assert.DoesNotContain("4294967295", server.Log);

            using (var post = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{server.HttpPort}/api/v1/messages")
            {
                Content = new StringContent("""{"from":"api@full.example","recipients":["rcpt@dest.example"],"subject":"s","text":"t"}""", Encoding.UTF8, "application/json"),
            })
            {
                using HttpResponseMessage response = await Http.SendAsync(post);
                string body = await response.Content.ReadAsStringAsync();
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.Contains("out of disk space", body);
            }

            // Space returns: the held write goes through on its next retry and mail is taken again, no restart.
            File.Delete(filler);
            var waited = Stopwatch.StartNew();
            while (true)
            {
                await client.WriteAsync("MAIL FROM:<probe@full.example>\r\n");
                SmtpReply probe = await client.ReadReplyAsync();
                if (probe.Code == 250)
                {
                    await client.CommandAsync("RSET", 250);
                    break;
                }
                Assert.True(waited.Elapsed < Bound, $"still refused {waited.Elapsed} after space was freed: {probe}");
                await Task.Delay(200);
            }
            output.WriteLine($"accepted again {waited.ElapsedMilliseconds} ms after the filler was deleted");
            for (int i = 0; i < 3; i++)
            {
                string sender = $"after{i}@full.example";
                byte[] content = Content(sender, 30_000);
                acknowledged.Add(await client.SendMessageAsync(sender, ["rcpt@dest.example"], content), (sender, content));
            }
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(server, "/health")).Status);
            await server.StopGracefullyAsync();
        }

        // The log stays readable: a restart comes up on it, and every acknowledged message is in it exactly once.
        await using (ServerProcess restarted = await ServerProcess.StartAsync(settings, spoolPath: spoolPath, output: output))
        {
            await restarted.StopGracefullyAsync();
        }
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(spoolPath);
        foreach ((string id, (string sender, byte[] content)) in acknowledged)
        {
            SpoolEntry entry = Assert.Single(spool, e => e.Id == id);
            Assert.Equal(sender, entry.Sender);
            Assert.True(entry.Content.AsSpan().SequenceEqual(content), $"acknowledged message {id} from {sender} differs");
        }
        Assert.InRange(spool.Count, acknowledged.Count, acknowledged.Count + 1); // the refused one may have become durable
        output.WriteLine($"{acknowledged.Count} acknowledged, {spool.Count} spooled");
    }

    // A body that cannot be stored while it is still arriving: with the disk full the log's 64 MiB memory ring cannot
    // drain, the next body chunk waits CommitTimeout (30 s) for room, and the session must then say why and close
    // (421 4.3.x: a message cannot be refused in the middle of its body) instead of dropping the connection with an
    // exception out of the session loop. The server stays up and takes mail again once space returns (the file system
    // is larger than the ring: the refused message's chunks already in the ring are written out first).
    [SkippableFact]
    public async Task ABodyThatCannotBeStoredMidDataGets421AndTheServerTakesMailAgainOnceSpaceReturns()
    {
        Skip.IfNot(IsRoot(), "DiskFullTests needs root to mount a tmpfs (mount -t tmpfs); run the tests as root to include it.");
        string mount = Path.Combine(Path.GetTempPath(), "fastmta-diskfull", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(mount);
        Run("mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", mount);
        try
        {
            string filler = Path.Combine(mount, "filler");
            await using ServerProcess server = await ServerProcess.StartAsync(
                ["Mta:Limits:MaxMessageBytes=200000000", "Mta:Limits:DataTimeout=00:02:00", "Mta:Limits:MinDataRate=0"],
                spoolPath: Path.Combine(mount, "spool"), output: output);
            await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
            client.Timeout = TimeSpan.FromSeconds(90);
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<big@full.example>", 250);
            await client.CommandAsync("RCPT TO:<rcpt@dest.example>", 250);
            await client.CommandAsync("DATA", 354);
            output.WriteLine($"filler: {Fill(filler)} bytes");

            // 1 MiB of body lines at a time, up to 160 MiB (well past the ring); the server stops reading while its
            // chunk waits, so the writer blocks until the 421 ends the session.
            byte[] block = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(new string('x', 1022) + "\r\n", 1024)));
            Task<SmtpReply> reply = client.ReadReplyAsync();
            var sent = Stopwatch.StartNew();
            long written = 0;
            try
            {
                while (!reply.IsCompleted && written < 160L * 1024 * 1024)
                {
                    await client.WriteAsync(block);
                    written += block.Length;
                }
            }
            catch (Exception ex) when (ex is IOException or Xunit.Sdk.XunitException)
            {
                output.WriteLine($"writing stopped after {written} bytes: {ex.Message}");
            }
            SmtpReply refusal = await reply.WaitAsync(TimeSpan.FromSeconds(90));
            output.WriteLine($"after {written} bytes and {sent.Elapsed}: {refusal}");
            Assert.Equal(421, refusal.Code);
            Assert.StartsWith("4.3.", refusal.EnhancedCode);
            try
            {
                await client.ExpectClosedAsync();
            }
            catch (IOException)
            {
                // closed with our unread body bytes still in its buffer: a reset, which is a close too
            }
            Assert.Contains("spool_unavailable", (await GetAsync(server, "/metrics")).Body);

            // Space returns: a new session's message is acknowledged, without a restart.
            File.Delete(filler);
            var waited = Stopwatch.StartNew();
            while (true)
            {
                await using RawSmtpClient next = await RawSmtpClient.ConnectAsync(server);
                await next.EhloAsync();
                await next.WriteAsync("MAIL FROM:<after@full.example>\r\n");
                SmtpReply mail = await next.ReadReplyAsync();
                if (mail.Code == 250)
                {
                    await next.CommandAsync("RCPT TO:<rcpt@dest.example>", 250);
                    await next.CommandAsync("DATA", 354);
                    await next.WriteAsync(MessageContent.DotStuff(Content("after@full.example", 5_000)));
                    await next.ExpectAsync(250);
                    break;
                }
                Assert.True(waited.Elapsed < Bound, $"still refused {waited.Elapsed} after space was freed: {mail}");
                await Task.Delay(500);
            }
            await server.StopGracefullyAsync();
        }
        finally
        {
            Run("umount", mount);
            Directory.Delete(mount, recursive: true);
        }
    }

    // Deterministic content of about `size` bytes for a sender.
    private static byte[] Content(string sender, int size)
    {
        var text = new StringBuilder(Encoding.ASCII.GetString(MessageContent.Simple(sender, "rcpt@dest.example", "disk full", "")));
        var random = new Random(size);
        while (text.Length < size)
        {
            text.Append(Convert.ToHexString(BitConverter.GetBytes(random.NextInt64()))).Append("\r\n");
        }
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    // Writes the filler until the file system refuses (ENOSPC); returns its size.
    private static long Fill(string path)
    {
        byte[] block = new byte[64 * 1024];
        Random.Shared.NextBytes(block);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        long written = 0;
        try
        {
            for (int size = block.Length; size >= 512; )
            {
                try
                {
                    file.Write(block, 0, size);
                    written += size;
                }
                catch (IOException)
                {
                    size /= 2; // the last few blocks: down to the file system's smallest unit
                }
            }
        }
        catch (IOException)
        {
        }
        return written;
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(ServerProcess server, string path)
    {
        using HttpResponseMessage response = await Http.GetAsync($"http://127.0.0.1:{server.HttpPort}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static bool IsRoot()
    {
        using var id = Process.Start(new ProcessStartInfo("id", ["-u"]) { RedirectStandardOutput = true })!;
        string uid = id.StandardOutput.ReadToEnd().Trim();
        id.WaitForExit(10_000);
        return uid == "0";
    }

    private static void Run(string command, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        string error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(30_000) || process.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"{command} {string.Join(' ', arguments)} failed ({(process.HasExited ? process.ExitCode : -1)}): {error}");
        }
    }

    [GeneratedRegex(@"(?m)^fastmta_spool_available(\{\})? 0$")]
    private static partial Regex AvailableZero();

    [GeneratedRegex(@"(?m)^fastmta_spool_storage_write_failures_total\{kind=""no_space""\} [1-9]")]
    private static partial Regex NoSpaceFailures();
}
