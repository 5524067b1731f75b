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

    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>("fastmta.http.refused",
        description: "HTTP requests answered with an error problem outside the injection endpoints' own results, by status and reason (invalid_domain, invalid_limit, invalid_request: malformed query, path or body framing; no_endpoint: an empty-bodied status such as 404 or 405; exception: 500).");

    public static void Refused(int status, string reason) =>
        Refusals.Add(1, new KeyValuePair<string, object?>("status", StatusTag(status)), new KeyValuePair<string, object?>("reason", reason));

    // Interned strings for the codes this server answers; anything else shares one value (labels stay bounded).
    private static string StatusTag(int status) => status switch
    {
        400 => "400", 401 => "401", 403 => "403", 404 => "404", 405 => "405", 408 => "408", 411 => "411", 413 => "413",
        414 => "414", 415 => "415", 431 => "431", 500 => "500", 503 => "503",
        _ => status < 500 ? "4xx" : "5xx",
    };

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
