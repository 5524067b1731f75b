namespace FastMta.Shaping;

/// <summary>
/// One delivery attempt's place in a (source, destination key)'s MaxConnections (and its rule's SourceTotal): held from
/// the admission until the attempt ends, whether its connection then stays pooled or not, and given back with
/// <see cref="ITrafficShaper.Release"/>. The shaper counts attempts in flight; sockets belong to the outbound
/// connection pool, which reuses an idle one before it opens one, so a destination that receives from one address
/// never has more connections open than attempts admitted at once. Releasing twice, or releasing <c>default</c>,
/// does nothing. A value type: granting one allocates nothing. The slot's generation makes a stale copy harmless
/// after the slot is reused.
/// </summary>
public readonly struct AttemptSlot : IEquatable<AttemptSlot>
{
    internal AttemptSlot(DestinationState state, DestinationState? total, int slot, int generation, bool connectionCounted)
    {
        ConnectionCounted = connectionCounted;
        State = state;
        Total = total;
        Slot = slot;
        Generation = generation;
    }

    internal DestinationState? State { get; }

    internal DestinationState? Total { get; }

    internal int Slot { get; }

    internal int Generation { get; }

    /// <summary>A connection-rate token was taken at admission (false: none was needed, or an idle connection was
    /// expected to carry the attempt). <see cref="ITrafficShaper.ConnectionsOpened"/> settles the difference.</summary>
    internal bool ConnectionCounted { get; }

    /// <summary>False for <c>default</c> (no slot).</summary>
    public bool IsValid => State is not null;

    public bool Equals(AttemptSlot other) => ReferenceEquals(State, other.State) && Slot == other.Slot && Generation == other.Generation;

    public override bool Equals(object? obj) => obj is AttemptSlot other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(State, Slot, Generation);

    public static bool operator ==(AttemptSlot left, AttemptSlot right) => left.Equals(right);

    public static bool operator !=(AttemptSlot left, AttemptSlot right) => !left.Equals(right);
}
