namespace FastMta.Shaping.Tests;

// The shaper is the one record of source suspensions: what it answers is what the admin API shows.
public sealed class SuspensionTests
{
    [Fact]
    public void IsSourceSuspendedAnswersUntilWhenAndEndsWithTheSuspensionOrAResume()
    {
        var clock = new ManualTimeProvider();
        ShapingOptions options = Shapers.Options();
        options.Sources = [Shapers.Source("a", 2), Shapers.Source("b", 3)];
        using var shaper = new TrafficShaper(options, clock);

        Assert.False(shaper.IsSourceSuspended("a", out DateTimeOffset? until));
        Assert.Null(until);
        Assert.False(shaper.IsSourceSuspended("nope", out _));

        DateTimeOffset end = ManualTimeProvider.Monday.AddMinutes(10);
        shaper.SuspendSource("a", end);
        shaper.SuspendSource("b");
        Assert.True(shaper.IsSourceSuspended("a", out until));
        Assert.Equal(end, until);
        Assert.True(shaper.IsSourceSuspended("B", out until));
        Assert.Null(until); // until resumed

        clock.SetUtcNow(end);
        Assert.False(shaper.IsSourceSuspended("a", out until));
        Assert.Null(until);
        shaper.ResumeSource("b");
        Assert.False(shaper.IsSourceSuspended("b", out _));
    }

    [Fact]
    public void ASuspensionSurvivesAReloadAndTheUnconfiguredDefaultSourceCanBeSuspended()
    {
        ShapingOptions options = Shapers.Options();
        options.Sources = [Shapers.Source("a", 2)];
        using var shaper = new TrafficShaper(options, new ManualTimeProvider());
        shaper.SuspendSource("a");

        shaper.Update(Shapers.Options()); // "a" removed: only the implicit default source
        Assert.False(shaper.IsSourceSuspended("a", out _));
        Assert.True(shaper.SuspendSource(EgressSource.DefaultName));
        Assert.True(shaper.IsSourceSuspended(EgressSource.DefaultName, out _));

        shaper.Update(options); // "a" back: its suspension was kept
        Assert.True(shaper.IsSourceSuspended("a", out _));
    }
}
