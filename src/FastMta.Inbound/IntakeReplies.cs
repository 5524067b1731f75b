using FastMta.Intake;
using FastMta.Smtp;

namespace FastMta.Inbound;

// The intake pipeline's refusals as SMTP replies, from the one table in SmtpReplies. The spool's refusals are
// temporary (the client retries) and are not counted as client errors; the content's are the client's (552, 554, 550).
internal static class IntakeReplies
{
    // Not in SmtpReplies: only a local mailbox (none is registered by default) can fail this way.
    public static ReadOnlySpan<byte> LocalMailboxFailed => "451 4.3.0 Local mailbox unavailable, try again later\r\n"u8;
    public static ReadOnlySpan<byte> Suppressed => "550 5.7.1 Recipient suppressed\r\n"u8;

    /// <summary>Whether the refusal is the client's doing (counted toward Mta:Limits:MaxErrors).</summary>
    public static bool IsClientError(IntakeRejection rejection) => rejection is IntakeRejection.TooLarge
        or IntakeRejection.BareLineFeed or IntakeRejection.BareCarriageReturn or IntakeRejection.UnknownPool
        or IntakeRejection.Suppressed;

    /// <summary>The reply at MAIL, RCPT or the end of the message. No space is RFC 3463's 4.3.1 (452, as RFC 5321 has it
    /// for insufficient storage); the spool's other refusals (back-pressure, storage error, shutting down, closed) stay
    /// 451 4.3.0.</summary>
    public static ReadOnlySpan<byte> Reply(IntakeRejection rejection) => rejection switch
    {
        IntakeRejection.TooLarge => SmtpReplies.MessageTooBig,
        IntakeRejection.BareLineFeed => SmtpReplies.BareLineFeedInData,
        IntakeRejection.BareCarriageReturn => SmtpReplies.BareCarriageReturnInData,
        IntakeRejection.UnknownPool => SmtpReplies.UnknownPool,
        IntakeRejection.SpoolNoSpace => SmtpReplies.InsufficientStorage,
        IntakeRejection.SpoolBusy or IntakeRejection.SpoolShuttingDown or IntakeRejection.SpoolStorageFailed
            or IntakeRejection.SpoolOutOfService => SmtpReplies.SpoolUnavailable,
        IntakeRejection.LocalMailboxFailed => LocalMailboxFailed,
        IntakeRejection.Suppressed => Suppressed,
        _ => throw new ArgumentOutOfRangeException(nameof(rejection), rejection, "No SMTP reply for this outcome."),
    };

    /// <summary>The reply when the body cannot be stored while the rest of it is still on its way: a message cannot be
    /// refused mid-body, so the session says why and closes (RFC 5321 3.8 allows 421 at any point).</summary>
    public static ReadOnlySpan<byte> ClosingReply(IntakeRejection rejection) => rejection switch
    {
        IntakeRejection.SpoolNoSpace => SmtpReplies.InsufficientStorageClosing,
        IntakeRejection.SpoolShuttingDown => SmtpReplies.ShuttingDown,
        _ => SmtpReplies.SpoolUnavailableClosing,
    };

    /// <summary>The metric label (fastmta_smtp_rejected_total's reason).</summary>
    public static string Reason(IntakeRejection rejection) => rejection switch
    {
        IntakeRejection.TooLarge => "size",
        IntakeRejection.BareLineFeed => "bare_lf",
        IntakeRejection.BareCarriageReturn => "bare_cr",
        IntakeRejection.UnknownPool => "unknown_pool",
        IntakeRejection.SpoolNoSpace => "spool_no_space",
        IntakeRejection.LocalMailboxFailed => "local_mailbox_failed",
        IntakeRejection.Suppressed => "suppressed",
        _ => "spool_unavailable",
    };
}
