using System.CommandLine;
using System.Globalization;

namespace FastMta.Cli.Commands;

/// <summary>`--duration hh:mm:ss`, shared by the suspend commands (destinations and sources).</summary>
internal static class DurationOption
{
    public static Option<TimeSpan?> Create() => new("--duration")
    {
        Description = "How long (hh:mm:ss or d.hh:mm:ss, e.g. 01:00:00; the server takes at most 365 days); without it, until resumed.",
        HelpName = "hh:mm:ss",
        CustomParser = r =>
        {
            string text = r.Tokens.Single().Value;
            if (TimeSpan.TryParseExact(text, [@"h\:mm\:ss", @"hh\:mm\:ss", @"d\.hh\:mm\:ss"], CultureInfo.InvariantCulture, out TimeSpan value)
                && value > TimeSpan.Zero)
            {
                return value;
            }

            r.AddError($"--duration must be a positive time span such as 01:00:00, not '{text}'.");
            return null;
        },
    };
}
