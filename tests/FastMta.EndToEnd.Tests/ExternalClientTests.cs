using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Clients that are not ours: Python's smtplib, swaks, and Postfix's smtp-source (which speaks HELO, not EHLO).
// swaks and smtp-source come from tests/run.sh; when they are missing the test fails and says so.
public sealed partial class ExternalClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    [GeneratedRegex("queued as ([0-9A-Z]{13})")]
    private static partial Regex QueuedAs();

    [Fact]
    public async Task PythonSmtplibSendsAMessageWithStartTlsAndLogin()
    {
        string python = ExternalTool.Require("python3", "python3");
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Auth:Users:alice=secret"], output: output);
        string messageId = $"<{Guid.NewGuid():N}@python.test.example>";
        ToolResult result = await ExternalTool.RunAsync(python,
            [RepoLayout.ScriptPath("smtplib_send.py"), server.SmtpPort.ToString(), "alice", "secret", messageId], ToolTimeout);
        Assert.True(result.ExitCode == 0, server.Failure($"smtplib failed: {result}").Message);
        string id = QueuedAs().Match(result.Stdout).Groups[1].Value;
        Assert.True(id.Length == 13, $"no queued id in smtplib's output: {result}");
        byte[] content = Convert.FromBase64String(result.Stdout.Split('\n').Single(l => l.StartsWith("CONTENT ")).Trim()[8..]);

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "py@client.example", ["dest@remote.example"], "python.test.example", "ESMTPSA", "alice", server);
        Assert.Equal("BODY=8BITMIME", entry.SenderParameters);
        SpoolAssert.ContentEqual(content, entry.Content, "smtplib message", server);
    }

    [Fact]
    public async Task SwaksSendsAMessageWithStartTlsAndAuthPlain()
    {
        string swaks = ExternalTool.Require("swaks", "swaks");
        ToolResult support = await ExternalTool.RunAsync(swaks, ["--support"], ToolTimeout);
        Assert.True(support.Stdout.Contains("TLS supported") || support.Stderr.Contains("=== TLS supported"),
            "swaks cannot do TLS (it needs Net::SSLeay, Debian package libnet-ssleay-perl, which tests/run.sh must install): "
            + support);
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Auth:Users:alice=secret"], output: output);
        ToolResult result = await ExternalTool.RunAsync(swaks,
        [
            "--server", $"127.0.0.1:{server.SmtpPort}", "--to", "x@y.example", "--from", "a@b.example", "--tls",
            "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "secret",
            "--helo", "swaks.test.example", "--timeout", "15",
        ], ToolTimeout);
        Assert.True(result.ExitCode == 0, server.Failure($"swaks failed: {result}").Message);
        string id = QueuedAs().Match(result.Stdout + result.Stderr).Groups[1].Value;
        Assert.True(id.Length == 13, $"no queued id in swaks' output: {result}");

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "a@b.example", ["x@y.example"], "swaks.test.example", "ESMTPSA", "alice", server);
        Assert.Contains("X-Mailer: swaks", System.Text.Encoding.UTF8.GetString(entry.Content));
    }

    [Fact]
    public async Task SmtpSourceDeliversFortyMessagesOverFourHeloSessions()
    {
        string smtpSource = ExternalTool.Require("smtp-source", "postfix");
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        ToolResult result = await ExternalTool.RunAsync(smtpSource,
            ["-s", "4", "-m", "40", "-l", "1024", "-f", "a@b.example", "-t", "c@d.example", $"127.0.0.1:{server.SmtpPort}"],
            ToolTimeout);
        Assert.True(result.ExitCode == 0, server.Failure($"smtp-source failed: {result}").Message);

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        if (spool.Count != 40 || spool.Any(e => e.Sender != "a@b.example" || e.Protocol != "SMTP"
                                              || !e.RecipientAddresses.SequenceEqual(["c@d.example"])))
        {
            throw SpoolAssert.Fail("smtp-source's 40 messages (HELO, a@b.example -> c@d.example) are not all in the spool.", spool, server);
        }
        Assert.Equal(40, spool.Select(e => e.Id).Distinct().Count());
        Assert.All(spool, e => Assert.True(e.Content.Length >= 1024, $"{e}: content shorter than smtp-source's 1024 bytes"));
    }
}
