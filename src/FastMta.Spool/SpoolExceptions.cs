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

/// <summary>
/// The spool cannot accept the message now: commit timeout, memory full for longer than the timeout, shutting
/// down, or failed. The SMTP side answers 451 4.3.0.
/// </summary>
public sealed class SpoolUnavailableException : Exception
{
    public SpoolUnavailableException(string message) : base(message) { }

    public SpoolUnavailableException(string message, Exception innerException) : base(message, innerException) { }
}
