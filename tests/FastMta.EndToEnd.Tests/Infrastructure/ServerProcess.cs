using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// One real FastMta server process (`dotnet FastMta.Server.dll`) on free loopback ports and its own spool directory.
// Its stdout/stderr are captured and appended to every failure message. Disposal always kills it (bounded waits).
public sealed class ServerProcess : IAsyncDisposable
{
    public const string Hostname = "mx.test.example";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(40);
    private const int MaxLogChars = 1 << 20;

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string? _ownedDirectory;
    private readonly ITestOutputHelper? _output;

    private ServerProcess(IReadOnlyList<string> settings, string spoolPath, string? ownedDirectory, ITestOutputHelper? output)
    {
        _ownedDirectory = ownedDirectory;
        _output = output;
        SpoolPath = spoolPath;
        (SmtpPort, HttpPort) = PickTwoFreePorts();
        Settings = settings;

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(spoolPath)!,
        };
        info.ArgumentList.Add(RepoLayout.ServerDll);
        info.ArgumentList.Add($"--Mta:Smtp:Listen=127.0.0.1:{SmtpPort}");
        info.ArgumentList.Add($"--Mta:Http:Listen=127.0.0.1:{HttpPort}");
        info.ArgumentList.Add($"--Mta:Spool:Path={spoolPath}");
        info.ArgumentList.Add($"--Mta:Hostname={Hostname}");
        DeliveryLogPath = Path.Combine(Path.GetDirectoryName(spoolPath)!, "delivery.jsonl");
        info.ArgumentList.Add($"--Mta:DeliveryLog:Path={DeliveryLogPath}");
        if (!settings.Any(s => s.StartsWith("Mta:Delivery:Enabled=", StringComparison.OrdinalIgnoreCase)))
        {
            // Tests that do not deliver must not try: the server would look up real MX records for example.com.
            info.ArgumentList.Add("--Mta:Delivery:Enabled=false");
        }
        foreach (string setting in settings)
        {
            info.ArgumentList.Add("--" + setting);
        }
        foreach (string variable in (string[])["ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS"])
        {
            info.Environment.Remove(variable);
        }
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Append($"[test harness] started pid {_process.Id}: smtp 127.0.0.1:{SmtpPort}, http 127.0.0.1:{HttpPort}, spool {spoolPath}");
    }

    public int SmtpPort { get; }
    public int HttpPort { get; }
    public string SpoolPath { get; }
    public string DeliveryLogPath { get; }
    public IReadOnlyList<string> Settings { get; }
    public int ProcessId => _process.Id;
    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    // settings: "Mta:Limits:MaxErrors=5" style (the leading "--" is added). spoolPath: reuse a spool (restart after a
    // crash); when null, a fresh temporary spool is created and deleted with the process.
    public static async Task<ServerProcess> StartAsync(IEnumerable<string>? settings = null, string? spoolPath = null,
        ITestOutputHelper? output = null)
    {
        var list = (settings ?? []).ToList();
        string? owned = null;
        if (spoolPath is null)
        {
            owned = Path.Combine(Path.GetTempPath(), "fastmta-e2e", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(owned);
            spoolPath = Path.Combine(owned, "spool");
        }
        for (int attempt = 1; ; attempt++)
        {
            var server = new ServerProcess(list, spoolPath, owned, output);
            try
            {
                await server.WaitUntilHealthyAsync(StartTimeout);
                return server;
            }
            catch (XunitException) when (attempt < 3 && server.HasExited
                                         && server.Log.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // Another process took one of the ports between our probe and the server's bind: try other ports.
                await server.DisposeCoreAsync(deleteSpool: false);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw Failure($"The server exited with code {_process.ExitCode} before /health answered 200.");
            }
            if (await GetHealthAsync() is { } health && health.StatusCode == 200)
            {
                return;
            }
            await Task.Delay(100);
        }
        throw Failure($"/health did not answer 200 within {timeout}.");
    }

    // Polls /health until no SMTP session is open (e.g. the server has seen a client disconnect).
    public Task WaitForNoSessionsAsync(TimeSpan? timeout = null) => WaitForSessionCountAsync(0, timeout);

    public async Task WaitForSessionCountAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        int last = -1;
        while (deadline.Elapsed < (timeout ?? TimeSpan.FromSeconds(15)))
        {
            if (await GetHealthAsync() is { StatusCode: 200 } health)
            {
                last = health.SmtpConnections;
                if (last == count)
                {
                    return;
                }
            }
            await Task.Delay(50);
        }
        throw Failure($"/health reported {last} open SMTP sessions, expected {count}.");
    }

    public sealed record Health(int StatusCode, int SmtpConnections);

    public async Task<Health?> GetHealthAsync()
    {
        try
        {
            using HttpResponseMessage response = await Http.GetAsync($"http://127.0.0.1:{HttpPort}/health");
            string body = await response.Content.ReadAsStringAsync();
            int connections = -1;
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                if (json.RootElement.TryGetProperty("smtpConnections", out JsonElement c))
                {
                    connections = c.GetInt32();
                }
            }
            return new Health((int)response.StatusCode, connections);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    // SIGTERM, then wait (bounded) for the process to exit; returns its exit code.
    public async Task<int> TerminateAsync(TimeSpan? timeout = null)
    {
        SendSigterm();
        return await WaitForExitAsync(timeout ?? StopTimeout);
    }

    public void SendSigterm()
    {
        Append("[test harness] sending SIGTERM");
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString() } })!;
        if (!kill.WaitForExit(5000) || kill.ExitCode != 0)
        {
            throw Failure("`kill -TERM` failed.");
        }
    }

    // Graceful stop that must succeed: SIGTERM, exit within the limit, exit code 0.
    public async Task StopGracefullyAsync()
    {
        int code = await TerminateAsync();
        if (code != 0)
        {
            throw Failure($"The server exited with code {code} after SIGTERM (expected 0).");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            string log = Log;
            Kill();
            throw new XunitException($"The server did not exit within {timeout}.\n{FormatLog(log)}");
        }
        _process.WaitForExit(5000); // lets the output readers drain
        return _process.ExitCode;
    }

    // SIGKILL (Process.Kill on Linux): no chance to flush or close anything.
    public void Kill()
    {
        if (!_process.HasExited)
        {
            Append("[test harness] SIGKILL");
            _process.Kill(entireProcessTree: true);
        }
        _process.WaitForExit(10_000);
    }

    public XunitException Failure(string message) => new($"{message}\n{FormatLog(Log)}");

    public static string FormatLog(string log)
    {
        const int Tail = 12_000;
        string text = log.Length > Tail ? "...\n" + log[^Tail..] : log;
        return $"--- server log ---\n{text}--- end of server log ---";
    }

    public ValueTask DisposeAsync() => DisposeCoreAsync(deleteSpool: true);

    private async ValueTask DisposeCoreAsync(bool deleteSpool)
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        if (_output is not null)
        {
            try
            {
                _output.WriteLine(FormatLog(Log));
            }
            catch (InvalidOperationException)
            {
                // no active test (fixture disposal)
            }
        }
        _process.Dispose();
        if (deleteSpool && _ownedDirectory is not null)
        {
            for (int i = 0; i < 5; i++)
            {
                try
                {
                    Directory.Delete(_ownedDirectory, recursive: true);
                    break;
                }
                catch (IOException)
                {
                    await Task.Delay(100);
                }
                catch (UnauthorizedAccessException)
                {
                    break;
                }
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            if (_log.Length > MaxLogChars)
            {
                _log.Remove(0, _log.Length / 2).Insert(0, "[earlier log lines dropped]\n");
            }
            _log.Append(line).Append('\n');
        }
    }

    private static (int, int) PickTwoFreePorts()
    {
        var a = new TcpListener(IPAddress.Loopback, 0);
        var b = new TcpListener(IPAddress.Loopback, 0);
        a.Start();
        b.Start();
        try
        {
            return (((IPEndPoint)a.LocalEndpoint).Port, ((IPEndPoint)b.LocalEndpoint).Port);
        }
        finally
        {
            a.Stop();
            b.Stop();
        }
    }
}
