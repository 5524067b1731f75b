using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;

namespace FastMta.EndToEnd.Tests;

// Commands the README tells a newcomer to type, run as written (against the built binaries), so that the README
// cannot drift into an example the program refuses.
public sealed class ReadmeExampleTests
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(60);

    private static string Readme => File.ReadAllText(Path.Combine(RepoLayout.RepositoryRoot, "README.md"));

    [Fact]
    public async Task The_README_hash_api_key_example_is_accepted()
    {
        Match example = Regex.Match(Readme, @"echo '([^']*)' \| dotnet run -c Release --project src/FastMta.Server -- hash-api-key");
        Assert.True(example.Success, "the README has no `echo '...' | dotnet run ... hash-api-key` example");

        ToolResult hashed = await ExternalTool.RunAsync("dotnet", [RepoLayout.ServerDll, "hash-api-key"], ToolTimeout,
            stdin: example.Groups[1].Value + "\n");

        Assert.True(hashed.ExitCode == 0, $"the README's hash-api-key example is refused: {hashed}");
        Assert.Matches(@"^sha256\$[A-Za-z0-9+/=]+$", hashed.Stdout.Trim());
    }

    [Fact]
    public void The_README_runs_the_CLI_in_Release_and_says_what_swaks_needs_for_TLS()
    {
        string readme = Readme;
        Assert.DoesNotMatch(@"dotnet run --project src/FastMta\.Cli", readme); // a Debug build beside the Release server
        Assert.Contains("dotnet run -c Release --project src/FastMta.Cli -- queue", readme);
        Assert.Contains("apt-get install swaks libnet-ssleay-perl", readme);
    }
}
