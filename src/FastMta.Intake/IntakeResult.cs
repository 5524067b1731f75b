using FastMta.Spool;

namespace FastMta.Intake;

/// <summary>
/// The outcome of committing one message through <see cref="IntakeTransaction"/>: accepted under <see cref="Id"/>
/// (durably spooled, and handed to every local mailbox it was addressed to), or refused for <see cref="Rejection"/>.
/// A struct: the SMTP DATA path gets one per message without allocating.
/// </summary>
public readonly struct IntakeResult
{
    private IntakeResult(SpoolMessageId id, IntakeRejection rejection, Exception? cause)
    {
        Id = id;
        Rejection = rejection;
        Cause = cause;
    }

    public bool IsAccepted => Rejection == IntakeRejection.None;

    /// <summary>The message's spool id (meaningful when accepted): what SMTP's "queued as" and the API's 202 name.</summary>
    public SpoolMessageId Id { get; }

    public IntakeRejection Rejection { get; }

    /// <summary>The exception behind a refusal that has one (the spool's, or a local mailbox's), for the log; null otherwise.</summary>
    public Exception? Cause { get; }

    public static IntakeResult Accepted(SpoolMessageId id) => new(id, IntakeRejection.None, null);

    public static IntakeResult Rejected(IntakeRejection rejection, Exception? cause = null) => new(default, rejection, cause);
}
