using FastMta.Queue;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace FastMta.Server.Webhooks;

/// <summary>The event webhooks' instruments. Tagged with the webhook's configured name (few, chosen by the
/// operator), never its URL.</summary>
internal sealed class WebhookMetrics
{
    public const string MeterName = "FastMta.Webhooks";

    private readonly Counter<long> _posted;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _batches;
    private readonly Histogram<double> _duration;
    private readonly ConcurrentDictionary<WebhookPublisher, string> _publishers = new();

    /// <summary>One per server, shared by every webhook's publisher (each registers its queue for the length gauge).</summary>
    internal WebhookMetrics(IMeterFactory meters)
    {
        Meter meter = meters.Create(MeterName);
        Meter = meter;
        Loops = new LoopMetrics(meters);
        _posted = meter.CreateCounter<long>("fastmta.webhooks.events.posted", "{event}",
            "Delivery events the webhook receiver accepted (2xx).");
        _dropped = meter.CreateCounter<long>("fastmta.webhooks.events.dropped", "{event}",
            "Delivery events never posted. reason=queue_full: the receiver is slower than the event rate or down (mail is unaffected); rejected: the receiver answered a 4xx other than 408/429 (check its URL and Authorization); shutdown: still queued when the server stopped.");
        _batches = meter.CreateCounter<long>("fastmta.webhooks.batches", "{batch}",
            "POST attempts by result: ok, retry (network error, timeout, 408, 429 or 5xx; retried with backoff), failed (rejected, not retried).");
        _duration = meter.CreateHistogram<double>("fastmta.webhooks.post.duration", "s",
            "Time from sending a POST to the receiver's response headers (or the error).");
        meter.CreateObservableGauge("fastmta.webhooks.queue.length", ObserveQueues, "{event}",
            "Events waiting for a webhook; near Mta:Webhooks:<name>:MaxQueue events start being dropped.");
    }

    /// <summary>The factory's meter these instruments are on (tests listen to this one only).</summary>
    internal Meter Meter { get; }

    /// <summary>Failures of the webhooks' sender loops.</summary>
    internal LoopMetrics Loops { get; }

    internal void Register(WebhookPublisher publisher, string name) => _publishers[publisher] = name;
    internal void Unregister(WebhookPublisher publisher) => _publishers.TryRemove(publisher, out _);

    internal void Posted(string name, int events) => _posted.Add(events, new KeyValuePair<string, object?>("webhook", name));

    internal void Dropped(string name, string reason, long events) =>
        _dropped.Add(events, new KeyValuePair<string, object?>("webhook", name), new KeyValuePair<string, object?>("reason", reason));

    internal void Batch(string name, string result, double seconds)
    {
        var webhook = new KeyValuePair<string, object?>("webhook", name);
        _batches.Add(1, webhook, new KeyValuePair<string, object?>("result", result));
        _duration.Record(seconds, webhook);
    }

    private IEnumerable<Measurement<long>> ObserveQueues() =>
        _publishers.Select(p => new Measurement<long>(p.Key.QueueLength, new KeyValuePair<string, object?>("webhook", p.Value)));
}
