using FastMta.Server.Api;
using FastMta.Shaping;

namespace FastMta.Server.Admin;

/// <summary>
/// The admin API over traffic shaping: the live state of every active (source, rule, destination key) budget, and
/// suspending or resuming an egress source. Suspensions are read from the shaper, which keeps the only record of
/// them. Answers 503 when delivery is disabled (there is no live shaper).
/// </summary>
internal static class ShapingEndpoints
{
    private const int DefaultLimit = 1000;
    private const int MaxLimit = 100_000;

    public static RouteGroupBuilder MapShapingApi(this IEndpointRouteBuilder app)
    {
        // Same bearer keys as the injection API; without keys, loopback clients only.
        RouteGroupBuilder api = app.MapGroup("/api/v1").WithTags("Shaping").RequireApiKey().ValidateDomainAndLimit(MaxLimit);

        api.MapGet("/shaping", (DeliveryService delivery, int? limit) =>
                WithShaper(delivery, shaper =>
                {
                    ShapingOptions options = delivery.ShapingOptions;
                    List<EgressSource> configured = options.Sources.Count == 0 ? [new EgressSource { Name = EgressSource.DefaultName }] : options.Sources;
                    List<SourceResponse> sources = [.. configured.Select(s =>
                    {
                        bool suspended = shaper.IsSourceSuspended(s.Name, out DateTimeOffset? until);
                        return new SourceResponse(s.Name, s.Address?.ToString(), s.EhloName, suspended, until);
                    })];
                    IReadOnlyList<ShapingStateSnapshot> all = shaper.Snapshot();
                    List<ShapingStateSnapshot> states = [.. all
                        .OrderBy(s => s.Source, StringComparer.Ordinal).ThenBy(s => s.Rule, StringComparer.Ordinal).ThenBy(s => s.Key, StringComparer.Ordinal)
                        .Take(Math.Clamp(limit ?? DefaultLimit, 1, MaxLimit))];
                    return Results.Ok(new ShapingResponse(
                        sources,
                        [.. sources.Where(s => s.Suspended).Select(s => s.Name)],
                        [.. options.Rules.Select(r => r.Name).Prepend(ShapingRule.DefaultName)],
                        all.Count,
                        states));
                }))
            .WithName("GetShaping").WithSummary("Egress sources (suspended or not), rules, and the active (source, rule, key) budgets (first `limit`, default 1000, by source, rule, key): rate, tokens, next token, connections, warmup.");

        api.MapPost("/sources/{name}/suspend", (DeliveryService delivery, TimeProvider time, string name, string? duration) =>
            {
                if (!SuspensionDuration.TryParse(duration, out TimeSpan? length, out IResult? invalid))
                {
                    return invalid;
                }

                DateTimeOffset? until = time.GetUtcNow() + length;
                return WithShaper(delivery, shaper => delivery.SuspendSource(name, until)
                    ? Results.Ok(new SourceSuspensionResponse(name, true, until))
                    : UnknownSource(name));
            })
            .WithName("SuspendSource").WithSummary("Stops new connections from an egress source, until resumed or for `duration` (hh:mm:ss); its pool's other sources take its share.");

        api.MapPost("/sources/{name}/resume", (DeliveryService delivery, string name) =>
                WithShaper(delivery, shaper => delivery.ResumeSource(name)
                    ? Results.Ok(new SourceSuspensionResponse(name, false, null))
                    : UnknownSource(name)))
            .WithName("ResumeSource").WithSummary("Ends an egress source's suspension.");

        return api;
    }

    private static IResult WithShaper(DeliveryService delivery, Func<ITrafficShaper, IResult> action) =>
        delivery.Shaper is { } shaper
            ? action(shaper)
            : Results.Problem("Delivery is disabled (Mta:Delivery:Enabled=false): there is no live traffic shaper.", statusCode: StatusCodes.Status503ServiceUnavailable);

    private static IResult UnknownSource(string name) =>
        Results.Problem($"No egress source named {name} (Mta:Egress:Sources).", statusCode: StatusCodes.Status404NotFound);

    internal sealed record SourceResponse(string Name, string? Address, string? EhloName, bool Suspended, DateTimeOffset? SuspendedUntil);

    internal sealed record ShapingResponse(
        IReadOnlyList<SourceResponse> Sources,
        IReadOnlyList<string> SuspendedSources,
        IReadOnlyList<string> Rules,
        int ActiveStates,
        IReadOnlyList<ShapingStateSnapshot> States);

    internal sealed record SourceSuspensionResponse(string Source, bool Suspended, DateTimeOffset? Until);
}
