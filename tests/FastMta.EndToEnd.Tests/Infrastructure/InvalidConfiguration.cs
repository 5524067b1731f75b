namespace FastMta.EndToEnd.Tests.Infrastructure;

// Starts the server with settings it must refuse: it has to stop at start-up with exit code 2 (invalid configuration)
// before binding or opening anything (the listeners and spool given here would be unusable anyway).
internal static class InvalidConfiguration
{
    public static async Task<ToolResult> StartUpFailsAsync(params string[] settings)
    {
        ToolResult result = await ExternalTool.RunAsync("dotnet",
            [RepoLayout.ServerDll, .. settings.Select(s => "--" + s), "--Mta:Smtp:Listen=127.0.0.1:1", "--Mta:Http:Listen=127.0.0.1:2",
                $"--Mta:Spool:Path={Path.Combine(Path.GetTempPath(), "fastmta-e2e", Guid.NewGuid().ToString("N"))}"],
            TimeSpan.FromSeconds(60));
        Xunit.Assert.True(result.ExitCode == 2, $"expected exit code 2 (invalid configuration): {result}");
        return result;
    }
}
