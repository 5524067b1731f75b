using FastMta.Queue;
using FastMta.Server.Configuration;

namespace FastMta.Server;

/// <summary>One event webhook (Mta:Webhooks:&lt;name&gt;): where delivery events are POSTed as JSON arrays, and how
/// much may wait for it. The name labels metrics and log lines; the URL never does (it may hold a token).</summary>
internal sealed class WebhookSettings
{
    public required string Name { get; init; }
    public required Uri Url { get; init; }

    /// <summary>The Authorization header's whole value ("Bearer ..."), or null for none.</summary>
    public string? Authorization { get; init; }

    public int BatchSize { get; init; } = 100;
    public int MaxQueue { get; init; } = 100_000;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a batch that is not yet full waits for more events before it is sent.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long disposing waits for the queue to be posted before dropping the rest.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The event types sent; null sends every type.</summary>
    public IReadOnlySet<DeliveryEventType>? Events { get; init; }
}

internal sealed partial class MtaSettings
{
    // The defaults of the optional keys are WebhookSettings' own (Name and Url here only satisfy "required").
    private static readonly WebhookSettings WebhookDefaults = new() { Name = "", Url = new Uri("http://localhost/") };

    // Each section was checked by MtaSectionValidator (Url, bounds); Events is a list key, parsed here.
    private static List<WebhookSettings> ReadWebhooks(MtaSection mta, IConfiguration configuration) =>
        [.. mta.Webhooks.Select(hook => new WebhookSettings
        {
            Name = hook.Key,
            Url = new Uri(hook.Value.Url!, UriKind.Absolute),
            Authorization = hook.Value.Authorization is { Length: > 0 } authorization ? authorization : null,
            BatchSize = hook.Value.BatchSize ?? WebhookDefaults.BatchSize,
            MaxQueue = hook.Value.MaxQueue ?? WebhookDefaults.MaxQueue,
            Timeout = hook.Value.Timeout ?? WebhookDefaults.Timeout,
            Linger = hook.Value.Linger ?? WebhookDefaults.Linger,
            MaxBackoff = hook.Value.MaxBackoff ?? WebhookDefaults.MaxBackoff,
            Events = ReadEvents(configuration.GetSection($"{MtaSection.Name}:Webhooks:{hook.Key}:Events")),
        })];

    private static HashSet<DeliveryEventType>? ReadEvents(IConfigurationSection section)
    {
        List<string> names = ConfigurationValues.ReadList(section);
        if (names.Count == 0)
        {
            return null;
        }

        // Names only, as the delivery log writes them: Enum.TryParse would also take numbers ("3").
        return [.. names.Select(name => ConfigurationValues.TryParseName(name, out DeliveryEventType type)
            ? type
            : throw new InvalidOperationException(
                $"{section.Path} entry '{name}' is not one of {string.Join(", ", Enum.GetNames<DeliveryEventType>())}."))];
    }
}
