using System.Globalization;

namespace FastMta.Queue;

/// <summary>How the queue retries, expires, batches and limits deliveries. Bound from the Mta:Queue section.</summary>
public sealed class QueueOptions
{
    /// <summary>Postfix/KumoMTA-like: a first retry after minutes, doubling towards hours. The last interval repeats.</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultRetrySchedule =
    [
        TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(40),
        TimeSpan.FromMinutes(80), TimeSpan.FromMinutes(160), TimeSpan.FromHours(4),
    ];

    /// <summary>
    /// The longest retry delay and queue lifetime accepted (365 days). Anything up to it is safe (the scheduler arms
    /// its timer for at most 49.7 days at a time and re-arms); beyond it a value is more likely a typo than a policy,
    /// and a bound keeps every due time far from the ends of DateTimeOffset's range.
    /// </summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(365);

    /// <summary>Delay before attempt n+1 after the n-th deferral: entry n-1, the last entry once the list runs out.</summary>
    public IReadOnlyList<TimeSpan> RetrySchedule { get; set; } = DefaultRetrySchedule;

    /// <summary>A recipient still undelivered this long after reception is failed (and bounced) at its next deferral.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(5);

    /// <summary>Recipients of one message to one domain sent in one SMTP transaction (RFC 5321 requires servers to take 100).</summary>
    public int MaxRecipientsPerTransaction { get; set; } = 100;

    /// <summary>Concurrent deliveries to one destination domain (Postfix's default_destination_concurrency_limit is 20).</summary>
    public int MaxConcurrencyPerDestination { get; set; } = 20;

    /// <summary>Concurrent deliveries in all; bounds memory (each holds a message body) and sockets.</summary>
    public int MaxDeliveriesInFlight { get; set; } = 1000;

    /// <summary>
    /// Holds all delivery: messages are indexed and scheduled as usual (admin API, metrics, truncation all see them)
    /// but no attempt is planned until the queue manager is resumed. For maintenance windows and for measuring a full
    /// queue (perf-scripts/queue-scale.sh); Postfix's "defer_transports" for everything.
    /// </summary>
    public bool Paused { get; set; }

    /// <summary>
    /// A live message further than this behind the log tail is copied forward (re-appended) so that the segments
    /// before it can be reclaimed: disk use stays about live data plus this distance.
    /// </summary>
    public long CopyForwardDistance { get; set; } = 1L << 30;

    /// <summary>How often space reclamation (copy-forward and truncation) runs.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The host name that DSNs are reported from (Reporting-MTA, From: MAILER-DAEMON@...).</summary>
    public string ReportingMta { get; set; } = Environment.MachineName.ToLowerInvariant();

    public TimeSpan RetryDelay(int deferrals)
    {
        IReadOnlyList<TimeSpan> schedule = RetrySchedule;
        return schedule[Math.Clamp(deferrals - 1, 0, schedule.Count - 1)];
    }

    /// <summary>Parses "00:01:00,00:05:00,01:00:00" (TimeSpan's invariant "c" format, comma-separated).</summary>
    public static IReadOnlyList<TimeSpan> ParseSchedule(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var schedule = new List<TimeSpan>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TimeSpan.TryParse(part, CultureInfo.InvariantCulture, out TimeSpan interval) || interval <= TimeSpan.Zero)
            {
                throw new FormatException($"Retry schedule entry '{part}' is not a positive TimeSpan such as 00:05:00.");
            }

            if (interval > MaxLifetime)
            {
                throw new FormatException($"Retry schedule entry '{part}' is longer than {MaxLifetime.TotalDays:0} days ({MaxLifetime:c}).");
            }

            schedule.Add(interval);
        }

        if (schedule.Count == 0)
        {
            throw new FormatException("The retry schedule needs at least one interval, e.g. 00:05:00,00:30:00,04:00:00.");
        }

        return schedule;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the field at fault; the host validates its configuration
    /// keys before it builds these options, so an operator never sees these names.</summary>
    public void Validate()
    {
        if (RetrySchedule is null || RetrySchedule.Count == 0 || RetrySchedule.Any(t => t <= TimeSpan.Zero || t > MaxLifetime))
        {
            throw new ArgumentException($"{nameof(RetrySchedule)} needs at least one interval, each positive and at most {MaxLifetime:c}.");
        }

        Require(MaxAge > TimeSpan.Zero && MaxAge <= MaxLifetime, $"{nameof(MaxAge)} must be positive and at most {MaxLifetime:c}.");
        Require(MaxRecipientsPerTransaction is > 0 and <= 10_000, $"{nameof(MaxRecipientsPerTransaction)} must be 1..10000.");
        Require(MaxConcurrencyPerDestination > 0, $"{nameof(MaxConcurrencyPerDestination)} must be positive.");
        Require(MaxDeliveriesInFlight > 0, $"{nameof(MaxDeliveriesInFlight)} must be positive.");
        Require(CopyForwardDistance > 0, $"{nameof(CopyForwardDistance)} must be positive.");
        Require(MaintenanceInterval > TimeSpan.Zero && MaintenanceInterval <= TimerSpan.Max, $"{nameof(MaintenanceInterval)} must be positive and at most 49.7 days.");
        Require(!string.IsNullOrWhiteSpace(ReportingMta), $"{nameof(ReportingMta)} must not be empty.");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
