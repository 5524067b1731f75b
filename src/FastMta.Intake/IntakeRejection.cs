namespace FastMta.Intake;

/// <summary>
/// Why a message (or a step of taking it in) was refused. Each source maps these to its own answer: the SMTP session
/// to a reply code and enhanced status, the HTTP API to a status and problem details. Outcomes, not errors: nothing
/// here is thrown.
/// </summary>
public enum IntakeRejection
{
    /// <summary>Not refused.</summary>
    None,

    /// <summary>The content exceeds the size limit (Mta:Limits:MaxMessageBytes).</summary>
    TooLarge,

    /// <summary>The content has a bare LF (not preceded by CR): the SMTP smuggling defence refuses it.</summary>
    BareLineFeed,

    /// <summary>The content has a bare CR (not followed by LF).</summary>
    BareCarriageReturn,

    /// <summary>An X-FastMta-Pool field (or the caller) names no configured egress pool.</summary>
    UnknownPool,

    /// <summary>The envelope (recipients and their parameters) does not fit one spool log page.</summary>
    EnvelopeTooLarge,

    /// <summary>Back-pressure: the spool's commit or log memory took longer than its CommitTimeout.</summary>
    SpoolBusy,

    /// <summary>The spool is closing (shutdown).</summary>
    SpoolShuttingDown,

    /// <summary>The spool is not open (not yet, or no longer).</summary>
    SpoolOutOfService,

    /// <summary>The spool's disk is full (ENOSPC, EDQUOT); latched until a retried write succeeds.</summary>
    SpoolNoSpace,

    /// <summary>The spool's storage failed a write or its committer failed; latched until a write succeeds.</summary>
    SpoolStorageFailed,

    /// <summary>A local mailbox (<see cref="ILocalMailbox"/>) failed to take the message.</summary>
    LocalMailboxFailed,

    /// <summary>Reserved: a recipient or sender on the suppression list.</summary>
    Suppressed,
}
