using System.Diagnostics;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests.Infrastructure;

/// <summary>What one run of the `fastmta` CLI printed.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] Lines => Stdout.Split('\n', StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}--- stderr\n{Stderr}";
}

/// <summary>Runs the real `fastmta` CLI as a process against a server's admin API.</summary>
public static class CliProcess
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static Task<CliResult> RunAsync(ServerProcess server, ITestOutputHelper output, params string[] args) =>
        RunAsync($"http://127.0.0.1:{server.HttpPort}", args, null, output);

    // One CLI process, stdout and stderr redirected (so: no spinner), bounded by a timeout; environment defaults cleared.
    public static async Task<CliResult> RunAsync(string url, string[] args, (string Name, string Value)? environment, ITestOutputHelper output)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(RepoLayout.CliDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.ArgumentList.Add("--server");
        info.ArgumentList.Add(url);
        info.Environment.Remove("FASTMTA_URL");
        info.Environment.Remove("FASTMTA_API_KEY");
        if (environment is { } variable)
        {
            info.Environment[variable.Name] = variable.Value;
        }

        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"fastmta {string.Join(' ', args)} did not exit within {Timeout}.");
        }

        var result = new CliResult(process.ExitCode, await stdout, await stderr);
        output.WriteLine($"$ fastmta {string.Join(' ', args)}\n{result}");
        return result;
    }
}
