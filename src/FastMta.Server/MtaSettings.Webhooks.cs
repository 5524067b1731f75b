using FastMta.Queue;
using Microsoft.Extensions.Configuration;

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
    private static List<WebhookSettings> LoadWebhooks(IConfigurationSection mta)
    {
        var webhooks = new List<WebhookSettings>();
        foreach (IConfigurationSection hook in mta.GetSection("Webhooks").GetChildren())
        {
            string key = hook.Path;
            // The value is not echoed: a webhook URL often carries a secret token.
            if (hook["Url"] is not { Length: > 0 } url)
            {
                throw new InvalidOperationException($"{key}:Url is required (an absolute http or https URL).");
            }

            if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new InvalidOperationException($"{key}:Url must be an absolute http or https URL.");
            }

            HashSet<DeliveryEventType>? events = null;
            List<string> names = ReadList(hook.GetSection("Events"), []);
            if (names.Count > 0)
            {
                events = [];
                foreach (string name in names)
                {
                    // Enum.TryParse also takes numbers ("3"): only the names written in the log are accepted.
                    events.Add(!char.IsAsciiDigit(name[0]) && Enum.TryParse(name, ignoreCase: true, out DeliveryEventType type) && Enum.IsDefined(type)
                        ? type
                        : throw new InvalidOperationException(
                            $"{key}:Events entry '{name}' is not one of {string.Join(", ", Enum.GetNames<DeliveryEventType>())}."));
                }
            }

            webhooks.Add(new WebhookSettings
            {
                Name = hook.Key,
                Url = uri,
                Authorization = hook["Authorization"] is { Length: > 0 } authorization ? authorization : null,
                BatchSize = GetBoundedInt(hook, "BatchSize", 100, max: 100_000),
                MaxQueue = GetBoundedInt(hook, "MaxQueue", 100_000, max: 100_000_000),
                Timeout = GetTimeSpan(hook, "Timeout", TimeSpan.FromSeconds(10)),
                Linger = GetTimeSpan(hook, "Linger", TimeSpan.FromSeconds(1)),
                MaxBackoff = GetTimeSpan(hook, "MaxBackoff", TimeSpan.FromSeconds(60)),
                Events = events,
            });
        }

        return webhooks;
    }

    private static int GetBoundedInt(IConfigurationSection section, string key, int defaultValue, int max)
    {
        long value = GetLong(section, key, defaultValue, min: 1);
        return value <= max ? (int)value : throw new InvalidOperationException($"{section.Path}:{key} = '{value}' must be at most {max}.");
    }
}
