namespace FastMta.Shaping;

/// <summary>
/// The answer to <see cref="ITrafficShaper.TryAdmit"/>. When granted, the source to send from, the rule in force (for
/// MaxMessagesPerConnection and MaxRecipientsPerTransaction) and the attempt's slot. When refused,
/// <see cref="RetryAt"/> is the earliest time any source of the pool could be admitted, or null when only a
/// <see cref="ITrafficShaper.Release"/> (or a resume or reload) can change the answer. A release may also admit
/// before RetryAt when some source was at its MaxConnections.
/// </summary>
public readonly record struct Admission
{
    public bool Granted => Result == AdmissionResult.Granted;

    public AdmissionResult Result { get; init; }

    public EgressSource? Source { get; init; }

    public ShapingRule? Rule { get; init; }

    public AttemptSlot Slot { get; init; }

    public DateTimeOffset? RetryAt { get; init; }
}
