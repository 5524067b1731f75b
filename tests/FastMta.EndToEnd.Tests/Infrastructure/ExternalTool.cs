using System.Diagnostics;
using System.Text;
using Xunit.Sdk;

namespace FastMta.EndToEnd.Tests.Infrastructure;

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

// Runs a short-lived program (swaks, smtp-source, python3, hash-password) with a hard time limit; its whole output is
// captured for assertion messages. A program that overruns is killed and the test fails.
public static class ExternalTool
{
    public static string? FindOnPath(string name)
    {
        string[] dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator,
            StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin", "/usr/local/sbin"]).ToArray();
        return dirs.Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
    }

    public static string Require(string name, string package)
    {
        return FindOnPath(name) ?? throw new XunitException(
            $"'{name}' (Debian package {package}) is not installed. Run the suite through `bash tests/run.sh`, which installs it.");
    }

    public static async Task<ToolResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout,
        string? stdin = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = new Process { StartInfo = info };
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (stdout) { stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (stderr) { stderr.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
        }
        process.StandardInput.Close();

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
            throw new XunitException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish within {timeout}.\n"
                + new ToolResult(-1, Snapshot(stdout), Snapshot(stderr)));
        }
        process.WaitForExit(5000); // drains the asynchronous output readers (bounded: a child may hold the pipes)
        return new ToolResult(process.ExitCode, Snapshot(stdout), Snapshot(stderr));
    }

    private static string Snapshot(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }
}
