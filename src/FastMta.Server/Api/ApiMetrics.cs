using System.Diagnostics.Metrics;

namespace FastMta.Server.Api;

// The HTTP API's instruments. Tag values come from small fixed sets: endpoint names and result reasons, never
// addresses, key names or message ids.
internal static class ApiMetrics
{
    public const string MeterName = "FastMta.Http";
    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Requests = Meter.CreateCounter<long>("fastmta.http.requests",
        description: "HTTP API requests by endpoint and result (accepted, partial, invalid, too_large, unsupported_media_type, unauthorized, forbidden, spool_unavailable, too_busy).");

    private static readonly UpDownCounter<long> InProgress = Meter.CreateUpDownCounter<long>("fastmta.http.injections_in_progress",
        description: "Injection requests being handled now (at most Mta:Http:MaxConcurrentInjections; more get 503, counted as too_busy).");

    private static readonly Counter<long> Messages = Meter.CreateCounter<long>("fastmta.http.messages",
        description: "Messages submitted over the HTTP API (each message of a batch counts), by result (accepted, invalid, too_large, spool_unavailable).");

    private static readonly Counter<long> Recipients = Meter.CreateCounter<long>("fastmta.http.recipients_accepted",
        description: "Recipients of messages durably spooled through the HTTP API.");

    public static void Request(string endpoint, string result) =>
        Requests.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("result", result));

    public static void InjectionStarted() => InProgress.Add(1);

    public static void InjectionEnded() => InProgress.Add(-1);

    public static void Message(string result) => Messages.Add(1, new KeyValuePair<string, object?>("result", result));

    public static void Accepted(int recipients)
    {
        Message("accepted");
        Recipients.Add(recipients);
    }
}
