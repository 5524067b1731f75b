namespace FastMta.Server.Monitoring;

/// <summary>
/// One part of the server that can make /health fail: the spool, the delivery loops, ... Each contributor adds a short
/// reason per problem it knows of right now; /health answers 200 "ok" when no contributor has one, 503 with every
/// reason otherwise. Register contributors as <c>IHealthContributor</c> singletons.
/// </summary>
public interface IHealthContributor
{
    /// <summary>Adds one human-readable reason per current problem (for example "spool: no space left on device").</summary>
    void AddProblems(List<string> problems);
}

internal static class HealthEndpoint
{
    public static void MapHealth(this WebApplication app, MtaSettings settings)
    {
        app.MapGet("/health", (IEnumerable<IHealthContributor> contributors, SpoolService spool, FastMta.Inbound.SmtpServerContext smtp,
            DeliveryService delivery) =>
        {
            var problems = new List<string>();
            if (!spool.IsOpen)
            {
                problems.Add("spool closed");
            }
            foreach (var contributor in contributors)
            {
                contributor.AddProblems(problems);
            }
            return problems.Count == 0
                ? Results.Json(new
                {
                    status = "ok", spool = settings.Spool.Path, smtpConnections = smtp.ActiveConnections,
                    queuedMessages = delivery.Queue?.MessageCount,
                })
                : Results.Json(new { status = "unhealthy", problems }, statusCode: StatusCodes.Status503ServiceUnavailable);
        });
    }
}

/// <summary>The delivery path's background loops (queue scheduler, space reclamation, delivery log writer, webhook
/// senders): 503 while one has failed and not yet recovered.</summary>
internal sealed class DeliveryHealth(DeliveryService delivery) : IHealthContributor
{
    public void AddProblems(List<string> problems) => delivery.AddProblems(problems);
}
