namespace FastMta.Shaping;

/// <summary>
/// One connection slot held for a (source, destination key). Pass it to <see cref="TrafficShaper.Release"/> when the
/// connection closes; releasing twice, or releasing <c>default</c>, does nothing. A value type: granting one
/// allocates nothing. The slot's generation makes a stale copy harmless after the slot is reused.
/// </summary>
public readonly struct Lease : IEquatable<Lease>
{
    internal Lease(DestinationState state, DestinationState? total, string pool, int slot, int generation, bool connectionCounted)
    {
        ConnectionCounted = connectionCounted;
        State = state;
        Pool = pool;
        Total = total;
        Slot = slot;
        Generation = generation;
    }

    internal DestinationState? State { get; }

    internal DestinationState? Total { get; }

    /// <summary>The pool the connection was admitted for, for the metrics of later messages on it.</summary>
    internal string? Pool { get; }

    internal int Slot { get; }

    internal int Generation { get; }

    /// <summary>A connection-rate token was taken at admission (false: none was needed, or an idle connection was
    /// expected to carry the attempt). <see cref="TrafficShaper.ConnectionsOpened"/> settles the difference.</summary>
    internal bool ConnectionCounted { get; }

    /// <summary>False for <c>default</c> (no slot).</summary>
    public bool IsValid => State is not null;

    public bool Equals(Lease other) => ReferenceEquals(State, other.State) && Slot == other.Slot && Generation == other.Generation;

    public override bool Equals(object? obj) => obj is Lease other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(State, Slot, Generation);

    public static bool operator ==(Lease left, Lease right) => left.Equals(right);

    public static bool operator !=(Lease left, Lease right) => !left.Equals(right);
}
