using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// One process per spool: a second FastMta on the same Mta:Spool:Path must refuse to start (two writers would
// interleave their records in one log and the next start would refuse the corrupt spool), while the first goes on
// as if nothing happened; and the lock must not outlive a killed holder.
public sealed class SpoolLockTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ASecondServerOnTheSameSpoolRefusesToStartNamingTheHolderAndTheFirstKeepsWorking()
    {
        await using ServerProcess first = await ServerProcess.StartAsync(output: output);
        var acknowledged = new List<string>();
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(first))
        {
            await client.EhloAsync();
            acknowledged.Add(await client.SendMessageAsync("before@lock.example", ["rcpt@dest.example"], MessageContent.Simple("before@lock.example", "rcpt@dest.example", "before", "one")));

            (int exitCode, string stdout, string stderr) = await RunSecondServerAsync(first.SpoolPath);
            output.WriteLine($"second server: exit {exitCode}\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}");
            Assert.NotEqual(0, exitCode);
            Assert.Contains($"in use by process {first.ProcessId}", stderr);
            Assert.Contains(first.SpoolPath, stderr);
            Assert.DoesNotContain("Spool opened", stdout + stderr); // it never touched the log
            Assert.False(first.HasExited);

            // The first server answers on the same session and on new ones.
            acknowledged.Add(await client.SendMessageAsync("after@lock.example", ["rcpt@dest.example"], MessageContent.Simple("after@lock.example", "rcpt@dest.example", "after", "two")));
        }
        await using (RawSmtpClient again = await RawSmtpClient.ConnectAsync(first))
        {
            await again.EhloAsync();
            acknowledged.Add(await again.SendMessageAsync("third@lock.example", ["rcpt@dest.example"], MessageContent.Simple("third@lock.example", "rcpt@dest.example", "third", "three")));
        }
        await first.StopGracefullyAsync();

        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(first.SpoolPath);
        Assert.Equal(acknowledged.Order(), spool.Select(e => e.Id).Order());
    }

    [Fact]
    public async Task AKilledServersLockDoesNotBlockARestartOnItsSpool()
    {
        await using ServerProcess first = await ServerProcess.StartAsync(output: output);
        string id1;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(first))
        {
            await client.EhloAsync();
            id1 = await client.SendMessageAsync("one@lock.example", ["rcpt@dest.example"], MessageContent.Simple("one@lock.example", "rcpt@dest.example", "one", "1"));
        }
        first.Kill(); // kill -9: the lock file stays, with the dead process's pid in it
        Assert.True(File.Exists(Path.Combine(first.SpoolPath, "fastmta.lock")));

        string id2;
        await using (ServerProcess restarted = await ServerProcess.StartAsync(first.Settings, spoolPath: first.SpoolPath, output: output))
        {
            await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(restarted))
            {
                await client.EhloAsync();
                id2 = await client.SendMessageAsync("two@lock.example", ["rcpt@dest.example"], MessageContent.Simple("two@lock.example", "rcpt@dest.example", "two", "2"));
            }
            Assert.Equal(restarted.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), ReadWithoutLock(first.SpoolPath).Trim());
            await restarted.StopGracefullyAsync();
        }

        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(first.SpoolPath);
        Assert.Equal(new[] { id1, id2 }.Order(), spool.Select(e => e.Id).Order());
    }

    // .NET takes a shared flock on any file it opens, which the holder's exclusive one refuses: cat does not lock.
    private static string ReadWithoutLock(string spoolPath)
    {
        using var cat = Process.Start(new ProcessStartInfo("cat", [Path.Combine(spoolPath, "fastmta.lock")]) { RedirectStandardOutput = true })!;
        string text = cat.StandardOutput.ReadToEnd();
        cat.WaitForExit(10_000);
        return text;
    }

    // The second server as a plain process (ServerProcess waits for /health), its stdout and stderr apart.
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunSecondServerAsync(string spoolPath)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(spoolPath)!,
        };
        info.ArgumentList.Add(RepoLayout.ServerDll);
        info.ArgumentList.Add($"--Mta:Smtp:Listen=127.0.0.1:{FreePort()}");
        info.ArgumentList.Add($"--Mta:Http:Listen=127.0.0.1:{FreePort()}");
        info.ArgumentList.Add($"--Mta:Spool:Path={spoolPath}");
        info.ArgumentList.Add($"--Mta:DeliveryLog:Path={Path.Combine(Path.GetDirectoryName(spoolPath)!, "delivery-second.jsonl")}");
        info.ArgumentList.Add("--Mta:Delivery:Enabled=false");
        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ServerProcess.StartTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new Xunit.Sdk.XunitException($"The second server did not exit within {ServerProcess.StartTimeout}:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
