using System.Diagnostics;

namespace FastMta.Server.Api;

/// <summary>
/// Bounds the injection requests handled at once (Mta:Http:MaxConcurrentInjections). Parsing a request costs a few
/// times its body, so without a bound N concurrent large posts cost N times that. A request over the limit is answered
/// at once, before its body is read: 503 with Retry-After, as problem details. One instance for both endpoints (a
/// batch is one request).
/// </summary>
internal sealed partial class InjectionLimiter(MtaSettings settings, ILogger<InjectionLimiter> logger, ApiMetrics metrics)
{
    /// <summary>Seconds a refused client is asked to wait: a slot frees as soon as one request is spooled.</summary>
    public const int RetryAfterSeconds = 1;

    // A request this large is followed by a background collection (see InvokeAsync).
    private const long LargeRequestBytes = 4 * 1024 * 1024;

    private static readonly long ReportInterval = Stopwatch.Frequency * 10;
    private readonly int _limit = settings.Injection.MaxConcurrentInjections;
    private int _running;
    private long _refusedSinceReport;
    private long _lastReport = Stopwatch.GetTimestamp() - ReportInterval;

    /// <summary>Requests being handled now.</summary>
    public int Running => Volatile.Read(ref _running);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (Interlocked.Increment(ref _running) > _limit)
        {
            Interlocked.Decrement(ref _running);
            return Refuse(context.HttpContext);
        }
        metrics.InjectionStarted();
        try
        {
            return await next(context);
        }
        finally
        {
            metrics.InjectionEnded();
            Interlocked.Decrement(ref _running);
            if (context.HttpContext.Request.ContentLength >= LargeRequestBytes)
            {
                // Parsing left several times the body in large-object garbage (the JSON text, the unescaped and the
                // UTF-16 strings). Left to the GC's own pace, the next large requests allocate afresh beside it and the
                // process grows by every request, not by the ones in progress: let a background collection free it
                // for reuse now. Large requests are rare and cost far more than the collection.
                GC.Collect(2, GCCollectionMode.Forced, blocking: false);
            }
        }
    }

    private IResult Refuse(HttpContext http)
    {
        string endpoint = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "unnamed";
        metrics.Request(endpoint, "too_busy");
        // A flood of refusals logs once per interval with the count, not once per request.
        long refused = Interlocked.Increment(ref _refusedSinceReport);
        long now = Stopwatch.GetTimestamp();
        long last = Volatile.Read(ref _lastReport);
        if (now - last >= ReportInterval && Interlocked.CompareExchange(ref _lastReport, now, last) == last)
        {
            Interlocked.Add(ref _refusedSinceReport, -refused);
            LogRefused(logger, _limit, refused, http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
        }
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The body is not read: Kestrel drains what the client still sends, or closes the connection.
        return Results.Problem(
            $"{_limit} injection requests are in progress (Mta:Http:MaxConcurrentInjections); retry in {RetryAfterSeconds} s.",
            statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many concurrent injections",
            type: "https://tools.ietf.org/html/rfc9110#section-15.6.4");
    }

    [LoggerMessage(EventId = 6200, Level = LogLevel.Warning,
        Message = "HTTP API: {Limit} injections in progress (Mta:Http:MaxConcurrentInjections); refused {Count} request(s) with 503 since the last report, the latest from {Client}")]
    private static partial void LogRefused(ILogger logger, int limit, long count, string client);
}

internal static class InjectionLimiterExtensions
{
    /// <summary>Applies the one <see cref="InjectionLimiter"/> to the group's endpoints (after authentication).</summary>
    public static TBuilder LimitConcurrentInjections<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter((context, next) =>
            context.HttpContext.RequestServices.GetRequiredService<InjectionLimiter>().InvokeAsync(context, next));
}
