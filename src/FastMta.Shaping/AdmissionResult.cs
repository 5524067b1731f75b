namespace FastMta.Shaping;

/// <summary>Why an admission was granted or refused; also the "result" label of fastmta.shaping.admissions.</summary>
public enum AdmissionResult
{
    Granted,

    /// <summary>Out of message or connection-rate tokens; RetryAt is the next token.</summary>
    Rate,

    /// <summary>At MaxConnections (per destination key or the source total); RetryAt is null: retry when a slot is released.</summary>
    Connections,

    /// <summary>Over today's warmup cap; RetryAt is the next UTC midnight.</summary>
    Warmup,

    /// <summary>The source is suspended; RetryAt is the end of the suspension, or null when it has none.</summary>
    Suspended,

    /// <summary>The pool name is not configured (e.g. removed by a reload); RetryAt is null.</summary>
    UnknownPool,
}
