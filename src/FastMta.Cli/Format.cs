using System.Globalization;

namespace FastMta.Cli;

/// <summary>How tables show times and sizes: UTC with the distance from now, so an operator reads "in 59m" at a glance.</summary>
internal static class Format
{
    public const string None = "-";

    public static string Time(DateTimeOffset? time, DateTimeOffset now) => time is { } t
        ? $"{t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}Z ({Relative(t - now)})"
        : None;

    public static string Relative(TimeSpan span)
    {
        TimeSpan a = span.Duration();
        string amount = a.TotalSeconds < 60 ? $"{(int)a.TotalSeconds}s"
            : a.TotalHours < 1 ? $"{a.Minutes}m {a.Seconds}s"
            : a.TotalDays < 1 ? $"{(int)a.TotalHours}h {a.Minutes}m"
            : $"{(int)a.TotalDays}d {a.Hours}h";
        return span >= TimeSpan.Zero ? $"in {amount}" : $"{amount} ago";
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.#} MiB"),
    };

    public static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Plural(int count, string one, string many) => count == 1 ? $"1 {one}" : $"{count} {many}";
}
