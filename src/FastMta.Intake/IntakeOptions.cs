namespace FastMta.Intake;

/// <summary>What the intake pipeline needs from configuration, already validated by the host.</summary>
public sealed class IntakeOptions
{
    /// <summary>This MTA's name in the Received header (Mta:Hostname).</summary>
    public required string Hostname { get; init; }

    /// <summary>Content bytes a message may have, the Received header not counted (Mta:Limits:MaxMessageBytes).</summary>
    public long MaxMessageBytes { get; init; } = long.MaxValue;

    /// <summary>Bytes a message to a local mailbox may have (Received header included). Such a message is held in memory
    /// until its mailbox has it, so this bounds a session's memory where MaxMessageBytes bounds only the spool;
    /// reports and DSNs are small. Past it the message is refused as <see cref="IntakeRejection.TooLarge"/>.</summary>
    public long MaxLocalMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Whether an egress pool named by X-FastMta-Pool exists (the live traffic-shaping configuration); every
    /// name is accepted when not set.</summary>
    public Func<string, bool> IsKnownPool { get; init; } = static _ => true;

    /// <summary>Content processors after the pool-header stripper, in order (none today; DKIM's body hash later).
    /// Each factory is called once per <see cref="IntakeTransaction"/>.</summary>
    public IReadOnlyList<Func<IContentProcessor>> ContentProcessors { get; init; } = [];
}
