namespace FastMta.Shaping;

/// <summary>
/// Mutable state of one (source, destination key): rate TATs, attempts in flight and their slots. Created on first
/// use; evicted when idle (no attempt in flight) and full (every TAT in the past), which is the state a new one starts
/// in, so eviction loses nothing. Everything here is lock-free except growing the slot table.
/// </summary>
internal sealed class DestinationState(StateKey key, SourceRuleStats stats)
{
    private const int ChunkSize = 16;
    private const int EvictedMark = int.MinValue;

    internal long TatSecond;
    internal long TatMinute;
    internal long TatHour;
    internal long TatConnect;
    private int _inUse;

    // Attempt slots in fixed chunks, so growing never moves a slot another thread is CASing. Entry = generation:
    // even = free, odd = held. Release succeeds only for the generation the slot was granted with (idempotent).
    private int[][] _slots = [];

    public StateKey Key { get; } = key;

    public SourceRuleStats Stats { get; } = stats;

    /// <summary>The rule's source-total state, cached; replaced when it turns out evicted.</summary>
    internal DestinationState? Total;

    public int InUse => Math.Max(Volatile.Read(ref _inUse), 0);

    public EnterResult TryEnter(int max)
    {
        while (true)
        {
            int current = Volatile.Read(ref _inUse);
            if (current == EvictedMark)
            {
                return EnterResult.Evicted;
            }

            if (current >= max)
            {
                return EnterResult.Full;
            }

            if (Interlocked.CompareExchange(ref _inUse, current + 1, current) == current)
            {
                return EnterResult.Entered;
            }
        }
    }

    public void Exit() => Interlocked.Decrement(ref _inUse);

    /// <summary>
    /// Marks the state evicted when nobody holds it and every TAT is in the past. After this, <see cref="TryEnter"/>
    /// answers Evicted, and every token take happens after an enter (or under a held slot), so none is lost.
    /// </summary>
    public bool TryMarkEvicted(long now)
    {
        if (!IsFull(now) || Interlocked.CompareExchange(ref _inUse, EvictedMark, 0) != 0)
        {
            return false;
        }

        if (IsFull(now))
        {
            return true;
        }

        Volatile.Write(ref _inUse, 0);
        return false;
    }

    public (int Slot, int Generation) AcquireSlot()
    {
        while (true)
        {
            int[][] chunks = Volatile.Read(ref _slots);
            for (int c = 0; c < chunks.Length; c++)
            {
                int[] chunk = chunks[c];
                for (int i = 0; i < chunk.Length; i++)
                {
                    int generation = Volatile.Read(ref chunk[i]);
                    if ((generation & 1) == 0 && Interlocked.CompareExchange(ref chunk[i], generation + 1, generation) == generation)
                    {
                        return ((c * ChunkSize) + i, generation + 1);
                    }
                }
            }

            lock (this)
            {
                if (ReferenceEquals(chunks, _slots))
                {
                    Volatile.Write(ref _slots, [.. chunks, new int[ChunkSize]]);
                }
            }
        }
    }

    public bool ReleaseSlot(int slot, int generation)
    {
        int[] chunk = Volatile.Read(ref _slots)[slot / ChunkSize];
        return Interlocked.CompareExchange(ref chunk[slot % ChunkSize], generation + 1, generation) == generation;
    }

    private bool IsFull(long now) =>
        Volatile.Read(ref TatSecond) <= now && Volatile.Read(ref TatMinute) <= now
        && Volatile.Read(ref TatHour) <= now && Volatile.Read(ref TatConnect) <= now;
}

internal enum EnterResult
{
    Entered,
    Full,
    Evicted,
}
