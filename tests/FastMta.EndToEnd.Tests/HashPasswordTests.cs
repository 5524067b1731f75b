using FastMta.EndToEnd.Tests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// `FastMta.Server hash-password` prints a PBKDF2 hash that the server accepts as Mta:Auth:Users:<name>.
public sealed class HashPasswordTests(ITestOutputHelper output)
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AHashFromHashPasswordAuthenticatesTheUserAndRejectsAWrongPassword()
    {
        const string password = "correct horse battery staple";
        ToolResult hashed = await ExternalTool.RunAsync("dotnet", [RepoLayout.ServerDll, "hash-password"], ToolTimeout, stdin: password + "\n");
        Assert.True(hashed.ExitCode == 0, $"hash-password failed: {hashed}");
        string hash = hashed.Stdout.Trim();
        Assert.Matches(@"^pbkdf2-sha256\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$", hash);
        Assert.DoesNotContain(password, hashed.Stdout + hashed.Stderr);

        await using ServerProcess server = await ServerProcess.StartAsync([$"Mta:Auth:Users:bob={hash}"], output: output);
        Assert.DoesNotContain("holds a plain password", server.Log);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        using (var client = new SmtpClient { ServerCertificateValidationCallback = static (_, _, _, _) => true, Timeout = 15_000 })
        {
            await client.ConnectAsync("127.0.0.1", server.SmtpPort, SecureSocketOptions.StartTls, cts.Token);
            await client.AuthenticateAsync("bob", password, cts.Token);
            Assert.True(client.IsAuthenticated);
            await client.DisconnectAsync(quit: true, cts.Token);
        }

        await using RawSmtpClient raw = await RawSmtpClient.ConnectAsync(server);
        await raw.EhloAsync();
        await raw.StartTlsAsync();
        await raw.EhloAsync();
        await raw.AuthPlainAsync("bob", "wrong password", 535, "5.7.8");
        await raw.AuthPlainAsync("bob", password, 235, "2.7.0");
    }

    [Fact]
    public async Task HashPasswordRefusesAnEmptyPassword()
    {
        ToolResult result = await ExternalTool.RunAsync("dotnet", [RepoLayout.ServerDll, "hash-password"], ToolTimeout, stdin: "\n");
        Assert.True(result.ExitCode == 2, $"expected exit code 2: {result}");
        Assert.DoesNotContain("pbkdf2", result.Stdout);
    }

    [Fact]
    public async Task TheServerRefusesToStartWithAMalformedHash()
    {
        ToolResult result = await InvalidConfiguration.StartUpFailsAsync("Mta:Auth:Users:bob=pbkdf2-sha256$not-a-hash");
        Assert.Contains("Mta:Auth:Users:bob", result.Stderr);
    }
}
