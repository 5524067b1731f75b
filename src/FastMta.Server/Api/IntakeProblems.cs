using FastMta.Intake;

namespace FastMta.Server.Api;

/// <summary>The intake pipeline's refusals as the HTTP API answers them (the same statuses, titles and details as
/// before the pipeline existed): the spool's are 503 with Retry-After, a full disk included (rather than WebDAV's
/// 507, which HTTP clients do not treat as "retry later"), the detail saying which; the content's are 400 or 413
/// naming the field.</summary>
internal static class IntakeProblems
{
    /// <summary>The outcome for a refusal; <paramref name="field"/> names what was refused ("pool", "content",
    /// "message"); <paramref name="pool"/> is the unknown pool's name.</summary>
    public static SpoolOutcome For(IntakeRejection rejection, string field, string? pool = null, long maxMessageBytes = 0) => rejection switch
    {
        IntakeRejection.UnknownPool => new(null, new InjectionError(StatusCodes.Status400BadRequest, "The message is invalid.",
            new Dictionary<string, string[]> { [field] = [$"no egress pool named '{pool}' is configured (Mta:Egress:Pools)"] }), false),
        IntakeRejection.TooLarge => new(null, InjectionValidator.TooLarge(field, maxMessageBytes), false),
        IntakeRejection.SpoolNoSpace => Unavailable("The spool is out of disk space (insufficient system storage); retry later."),
        IntakeRejection.SpoolStorageFailed => Unavailable("The spool's storage is failing; retry later."),
        IntakeRejection.SpoolShuttingDown => Unavailable("The server is shutting down; retry later."),
        IntakeRejection.SpoolBusy => Unavailable("The spool is not accepting messages now; retry later."),
        IntakeRejection.SpoolOutOfService => Unavailable(null), // the endpoint's default detail
        _ => throw new ArgumentOutOfRangeException(nameof(rejection), rejection, "No HTTP answer for this outcome."),
    };

    /// <summary>The envelope (recipients) does not fit one spool page.</summary>
    public static SpoolOutcome EnvelopeTooLarge(Exception cause) =>
        new(null, new InjectionError(StatusCodes.Status413PayloadTooLarge, "The message is too large.",
            new Dictionary<string, string[]> { ["recipients"] = [cause.Message] }), false);

    private static SpoolOutcome Unavailable(string? detail) => new(null, null, Unavailable: true, detail);
}
