namespace FastMta.Spool;

/// <summary>The spool could not be recovered and verified; FastMta must not start on it.</summary>
public sealed class SpoolRecoveryException : Exception
{
    public SpoolRecoveryException(string message) : base(message) { }

    public SpoolRecoveryException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>A committed record failed validation while the spool was read. Never skipped silently.</summary>
public sealed class SpoolCorruptException : Exception
{
    public SpoolCorruptException(long logAddress, string message) : base($"Corrupt spool record at log address {logAddress}: {message}")
    {
        LogAddress = logAddress;
    }

    public SpoolCorruptException(long logAddress, string message, Exception innerException)
        : base($"Corrupt spool record at log address {logAddress}: {message}", innerException)
    {
        LogAddress = logAddress;
    }

    /// <summary>Log address of the bad entry (or of the first byte that could not be accounted for).</summary>
    public long LogAddress { get; }
}

/// <summary>Why the spool refused a message; each reason has its own SMTP reply and HTTP answer.</summary>
public enum SpoolUnavailableReason
{
    /// <summary>The commit (or room in the log's memory) took longer than CommitTimeout: the disk is too slow or stalled. SMTP 451 4.3.0.</summary>
    BackPressure,

    /// <summary>The spool is closing (shutdown). SMTP 451 4.3.0.</summary>
    ShuttingDown,

    /// <summary>A write failed with ENOSPC or EDQUOT; the spool is latched unavailable until a retried write succeeds. SMTP 452 4.3.1.</summary>
    NoSpace,

    /// <summary>A write failed with another I/O error, or the committer failed; latched until a write or commit succeeds again. SMTP 451 4.3.0.</summary>
    StorageFailed,
}

/// <summary>
/// The spool cannot accept the message now; <see cref="Reason"/> says why (back-pressure, shutting down, no space,
/// storage failure). The message was not acknowledged and the client may retry. Always one of the two kinds below,
/// which mean different things to an operator: <see cref="SpoolBusyException"/> (this message waited too long, the
/// next may pass) and <see cref="SpoolOutOfServiceException"/> (the spool takes no mail until something changes).
/// Catching this base type catches both; the replies per <see cref="Reason"/> are documented on the reasons.
/// </summary>
public abstract class SpoolUnavailableException : Exception
{
    private protected SpoolUnavailableException(SpoolUnavailableReason reason, string message) : base(message)
    {
        Reason = reason;
    }

    private protected SpoolUnavailableException(SpoolUnavailableReason reason, string message, Exception innerException) : base(message, innerException)
    {
        Reason = reason;
    }

    public SpoolUnavailableReason Reason { get; }

    /// <summary>No space and storage failures are states of the spool (latched until they clear); the others concern one message.</summary>
    public bool IsLatched => Reason is SpoolUnavailableReason.NoSpace or SpoolUnavailableReason.StorageFailed;

    /// <summary>A new instance of the same type and reason (one per refused waiter: one instance thrown on many threads would mix their stack traces).</summary>
    internal SpoolUnavailableException Copy() => this switch
    {
        SpoolBusyException => InnerException is { } busyCause ? new SpoolBusyException(Message, busyCause) : new SpoolBusyException(Message),
        _ => InnerException is { } cause ? new SpoolOutOfServiceException(Reason, Message, cause) : new SpoolOutOfServiceException(Reason, Message),
    };
}

/// <summary>
/// Back-pressure: this message's commit, or room for it in the log's memory, took longer than CommitTimeout (the disk
/// is too slow or stalled). <see cref="SpoolUnavailableException.Reason"/> is always
/// <see cref="SpoolUnavailableReason.BackPressure"/>. Try again: SMTP 451 4.3.0 (421 4.3.0 and close when it happens
/// mid-body), HTTP 503 with Retry-After. Not a state of the spool: the next message may be accepted.
/// </summary>
public sealed class SpoolBusyException : SpoolUnavailableException
{
    public SpoolBusyException(string message) : base(SpoolUnavailableReason.BackPressure, message) { }

    public SpoolBusyException(string message, Exception innerException) : base(SpoolUnavailableReason.BackPressure, message, innerException) { }
}

/// <summary>
/// The spool is out of service: it is shutting down (<see cref="SpoolUnavailableReason.ShuttingDown"/>: SMTP 451 4.3.0
/// at the commit, 421 4.3.2 and close mid-body), its disk is full (<see cref="SpoolUnavailableReason.NoSpace"/>: SMTP
/// 452 4.3.1, 421 4.3.1 and close mid-body) or its storage or committer failed
/// (<see cref="SpoolUnavailableReason.StorageFailed"/>: SMTP 451 4.3.0, 421 4.3.0 and close mid-body); HTTP 503 for
/// each. No space and storage failures are latched (<see cref="MessageSpool.Unavailable"/>, /health, the availability
/// gauge: an alert) until a retried write or commit succeeds.
/// </summary>
public sealed class SpoolOutOfServiceException : SpoolUnavailableException
{
    public SpoolOutOfServiceException(SpoolUnavailableReason reason, string message) : base(CheckReason(reason), message) { }

    public SpoolOutOfServiceException(SpoolUnavailableReason reason, string message, Exception innerException)
        : base(CheckReason(reason), message, innerException) { }

    private static SpoolUnavailableReason CheckReason(SpoolUnavailableReason reason) => reason == SpoolUnavailableReason.BackPressure
        ? throw new ArgumentOutOfRangeException(nameof(reason), reason, "Back-pressure is a SpoolBusyException, not out of service.")
        : reason;
}

/// <summary>Another process holds the spool directory's lock (see <see cref="SpoolLock"/>); this one must not start on it.</summary>
public sealed class SpoolLockedException : Exception
{
    public SpoolLockedException(string message, int holderProcessId) : base(message)
    {
        HolderProcessId = holderProcessId;
    }

    public SpoolLockedException(string message, int holderProcessId, Exception innerException) : base(message, innerException)
    {
        HolderProcessId = holderProcessId;
    }

    /// <summary>The pid written in the lock file by the holder, or 0 when unknown.</summary>
    public int HolderProcessId { get; }
}

/// <summary>
/// The message's envelope (sender, recipients and their parameters) does not fit one spool log page: the message can
/// never be stored, whatever the load. An <see cref="InvalidOperationException"/>, as before this type existed.
/// </summary>
public sealed class SpoolEnvelopeTooLargeException(int envelopeLength, int maxEntryLength)
    : InvalidOperationException($"The message envelope needs {envelopeLength} bytes, more than one spool log page holds ({maxEntryLength}); too many recipients or parameters.")
{
    public int EnvelopeLength { get; } = envelopeLength;
    public int MaxEntryLength { get; } = maxEntryLength;
}
