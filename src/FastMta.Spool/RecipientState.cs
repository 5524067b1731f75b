namespace FastMta.Spool;

/// <summary>What the spool records about a recipient. On-disk values: append-only, never reused.</summary>
public enum RecipientStatus : byte
{
    /// <summary>No outcome recorded yet (never written to disk: the absence of a record means pending).</summary>
    Pending = 0,
    Delivered = 1,
    Deferred = 2,
    Failed = 3,
}

/// <summary>One recipient's recorded state.</summary>
/// <param name="RecipientIndex">Position of the recipient in the envelope.</param>
/// <param name="Attempts">Delivery attempts made so far.</param>
/// <param name="NextAttemptUnixMs">For <see cref="RecipientStatus.Deferred"/>: when to try again; otherwise 0.</param>
public readonly record struct RecipientState(int RecipientIndex, RecipientStatus Status, int Attempts, long NextAttemptUnixMs)
{
    public bool IsFinal => Status is RecipientStatus.Delivered or RecipientStatus.Failed;
}
