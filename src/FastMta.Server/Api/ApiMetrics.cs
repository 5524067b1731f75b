using System.Diagnostics.Metrics;

namespace FastMta.Server.Api;

// The HTTP API's instruments. Tag values come from small fixed sets: endpoint names and result reasons, never
// addresses, key names or message ids. One per server (a singleton service): endpoints take it as a parameter,
// filters and the problem responses from the request's services.
internal sealed class ApiMetrics
{
    public const string MeterName = "FastMta.Http";

    private readonly Counter<long> _requests;
    private readonly UpDownCounter<long> _inProgress;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _recipients;
    private readonly Counter<long> _refusals;

    public ApiMetrics(IMeterFactory meters)
    {
        Meter meter = meters.Create(MeterName);
        _requests = meter.CreateCounter<long>("fastmta.http.requests",
            description: "HTTP API requests by endpoint and result (accepted, partial, invalid, too_large, unsupported_media_type, unauthorized, forbidden, spool_unavailable, too_busy).");
        _inProgress = meter.CreateUpDownCounter<long>("fastmta.http.injections_in_progress",
            description: "Injection requests being handled now (at most Mta:Http:MaxConcurrentInjections; more get 503, counted as too_busy).");
        _messages = meter.CreateCounter<long>("fastmta.http.messages",
            description: "Messages submitted over the HTTP API (each message of a batch counts), by result (accepted, invalid, too_large, spool_unavailable).");
        _recipients = meter.CreateCounter<long>("fastmta.http.recipients_accepted",
            description: "Recipients of messages durably spooled through the HTTP API.");
        _refusals = meter.CreateCounter<long>("fastmta.http.refused",
            description: "HTTP requests answered with an error problem outside the injection endpoints' own results, by status and reason (invalid_domain, invalid_limit, invalid_request: malformed query, path or body framing; no_endpoint: an empty-bodied status such as 404 or 405; exception: 500).");
    }

    public void Refused(int status, string reason) =>
        _refusals.Add(1, new KeyValuePair<string, object?>("status", StatusTag(status)), new KeyValuePair<string, object?>("reason", reason));

    public void Request(string endpoint, string result) =>
        _requests.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint), new KeyValuePair<string, object?>("result", result));

    public void InjectionStarted() => _inProgress.Add(1);

    public void InjectionEnded() => _inProgress.Add(-1);

    public void Message(string result) => _messages.Add(1, new KeyValuePair<string, object?>("result", result));

    public void Accepted(int recipients)
    {
        Message("accepted");
        _recipients.Add(recipients);
    }

    // Interned strings for the codes this server answers; anything else shares one value (labels stay bounded).
    private static string StatusTag(int status) => status switch
    {
        400 => "400", 401 => "401", 403 => "403", 404 => "404", 405 => "405", 408 => "408", 411 => "411", 413 => "413",
        414 => "414", 415 => "415", 431 => "431", 500 => "500", 503 => "503",
        _ => status < 500 ? "4xx" : "5xx",
    };
}
