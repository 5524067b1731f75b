using FastMta.Server.Api;
using Queue = FastMta.Queue;

namespace FastMta.Server.Admin;

/// <summary>
/// The admin API over the queue (what `fastmta` the CLI talks to): summary by destination and state, message
/// lookups, suspend/resume, retry now, bounce or delete a domain's mail. Answers 503 when delivery is disabled
/// (there is no live queue to act on).
/// </summary>
internal static class AdminEndpoints
{
    private const int DefaultLimit = 100;
    private const int MaxLimit = 10_000;

    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        // Same bearer keys as the injection API; without keys, loopback clients only.
        RouteGroupBuilder api = app.MapGroup("/api/v1").WithTags("Admin").RequireApiKey().ValidateDomainAndLimit(MaxLimit);

        api.MapGet("/queue", (DeliveryService delivery, int? limit) =>
                WithQueue(delivery, queue => Results.Ok(queue.GetSummary(Limit(limit, 1000)).ToContract())))
            .WithName("GetQueueSummary").WithSummary("Queued recipients by state and by destination domain (largest first).");

        api.MapGet("/queue/messages", (DeliveryService delivery, string? domain, int? limit) =>
                WithQueue(delivery, queue => Results.Ok(queue.ListMessages(domain, Limit(limit, DefaultLimit)).Select(AdminContracts.ToContract))))
            .WithName("ListQueuedMessages").WithSummary("Live messages, oldest first, optionally only those with recipients queued for a domain.");

        api.MapGet("/queue/messages/{id}", (DeliveryService delivery, string id) =>
                WithQueue(delivery, queue => queue.FindMessage(id) is { } message
                    ? Results.Ok(message.ToContract())
                    : Results.Problem($"No live message with id {id}.", statusCode: StatusCodes.Status404NotFound)))
            .WithName("GetQueuedMessage").WithSummary("One live message with every recipient's state.");

        api.MapPost("/queue/retry", (DeliveryService delivery, string? domain) =>
                WithQueue(delivery, queue => Results.Ok(new RetryResponse(queue.RetryNow(domain)))))
            .WithName("RetryNow").WithSummary("Makes deferred recipients (of one domain, or all) due now.");

        api.MapGet("/destinations", (DeliveryService delivery, int? limit) =>
                WithQueue(delivery, queue => Results.Ok(queue.GetDestinationQueues(Limit(limit, DefaultLimit)).Select(AdminContracts.ToContract))))
            .WithName("ListDestinationQueues").WithSummary("Active destination queues (busiest first): pool, site, waiting work, attempts running, and what holds them (shaping, suspension).");

        api.MapGet("/destinations/suspended", (DeliveryService delivery) =>
                WithQueue(delivery, queue => Results.Ok(queue.Suspensions().Select(s => new SuspensionResponse(s.Key, s.Value)))))
            .WithName("ListSuspensions").WithSummary("Suspended destination domains and when each suspension ends (null: until resumed).");

        api.MapPost("/destinations/{domain}/suspend", (DeliveryService delivery, string domain, string? duration) =>
            {
                if (!SuspensionDuration.TryParse(duration, out TimeSpan? length, out IResult? invalid))
                {
                    return invalid;
                }

                return WithQueue(delivery, queue => Results.Ok(new SuspensionResponse(domain.ToLowerInvariant(), queue.Suspend(domain, length))));
            })
            .WithName("SuspendDestination").WithSummary("Stops new delivery attempts to a domain, until resumed or for `duration` (hh:mm:ss).");

        api.MapPost("/destinations/{domain}/resume", (DeliveryService delivery, string domain) =>
                WithQueue(delivery, queue => queue.Resume(domain)
                    ? Results.Ok(new SuspensionResponse(domain.ToLowerInvariant(), null))
                    : Results.Problem($"{domain} is not suspended.", statusCode: StatusCodes.Status404NotFound)))
            .WithName("ResumeDestination").WithSummary("Ends a destination's suspension.");

        api.MapPost("/destinations/{domain}/bounce", (DeliveryService delivery, string domain, string? reason, CancellationToken ct) =>
                FailAllAsync(delivery, domain, sendDsn: true, reason, ct))
            .WithName("BounceDestination").WithSummary("Fails every recipient queued for a domain now, with a DSN to each sender.");

        api.MapPost("/destinations/{domain}/delete", (DeliveryService delivery, string domain, string? reason, CancellationToken ct) =>
                FailAllAsync(delivery, domain, sendDsn: false, reason, ct))
            .WithName("DeleteDestination").WithSummary("Removes every recipient queued for a domain now, without DSN.");

        return api;
    }

    private static async Task<IResult> FailAllAsync(DeliveryService delivery, string domain, bool sendDsn, string? reason, CancellationToken ct)
    {
        if (delivery.Queue is not { } queue)
        {
            return Disabled();
        }

        Queue.AdminOutcome outcome = await queue.FailAllAsync(domain, sendDsn, string.IsNullOrWhiteSpace(reason) ? "no reason given" : reason, ct);
        return Results.Ok(outcome.ToContract());
    }

    private static IResult WithQueue(DeliveryService delivery, Func<Queue.QueueManager, IResult> action) =>
        delivery.Queue is { } queue ? action(queue) : Disabled();

    private static IResult Disabled() =>
        Results.Problem("Delivery is disabled (Mta:Delivery:Enabled=false): there is no live queue.", statusCode: StatusCodes.Status503ServiceUnavailable);

    private static int Limit(int? requested, int fallback) => Math.Clamp(requested ?? fallback, 1, MaxLimit);
}
