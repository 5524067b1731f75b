using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Mta:Spool:Durability: bound at start-up, an invalid value stops start-up naming the key, Relaxed is announced with
// a warning. (What each mode survives is tested in CrashTests and FastMta.Spool.Tests.DurabilityTests.)
public sealed class DurabilitySettingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("Fsync")]
    [InlineData("1")]
    public async Task An_invalid_durability_stops_start_up_with_the_key_named(string value)
    {
        ToolResult result = await InvalidConfiguration.StartUpFailsAsync($"Mta:Spool:Durability={value}");
        Assert.Contains("Mta:Spool:Durability", result.Stderr);
        Assert.Contains("Relaxed", result.Stderr);
    }

    [Fact]
    public async Task Relaxed_is_announced_with_a_warning_and_Commit_is_not()
    {
        await using (ServerProcess relaxed = await ServerProcess.StartAsync(["Mta:Spool:Durability=relaxed"], output: output))
        {
            await relaxed.StopGracefullyAsync();
            Assert.Contains("Mta:Spool:Durability is Relaxed", relaxed.Log);
        }

        await using ServerProcess commit = await ServerProcess.StartAsync(output: output);
        await commit.StopGracefullyAsync();
        Assert.DoesNotContain("Durability is Relaxed", commit.Log);
    }
}
