using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using FastMta.Queue;

namespace FastMta.Server.Admin;

/// <summary>
/// The `duration` of a suspension (destination or egress source) as the admin API takes it: a TimeSpan in invariant
/// "c" form, more than zero and at most <see cref="QueueManager.MaxSuspension"/> (365 days; "until resumed" is no
/// duration at all). Anything else is a 400 validation problem (RFC 9457) before anything is stored, never a 500: the
/// end time of TimeSpan.MaxValue is past DateTimeOffset's range.
/// </summary>
internal static class SuspensionDuration
{
    /// <summary>True with the duration (null: none given); false with the 400 to answer.</summary>
    public static bool TryParse(string? text, out TimeSpan? duration, [NotNullWhen(false)] out IResult? problem)
    {
        duration = null;
        problem = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out TimeSpan parsed) && parsed > TimeSpan.Zero
            && parsed <= QueueManager.MaxSuspension)
        {
            duration = parsed;
            return true;
        }

        problem = Results.ValidationProblem(new Dictionary<string, string[]>
        {
            ["duration"] = [$"must be a time span such as 01:00:00 or 7.00:00:00, more than zero and at most {QueueManager.MaxSuspension:c}; omit it to suspend until resumed"],
        });
        return false;
    }
}
