using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>
/// Which messages are live and when each is next due: every message with a recipient not yet final, by the address of
/// its first log entry (so the oldest one, which bounds truncation, is the set's minimum), and the due-time heap the
/// scheduler takes due messages from. Every member is called under the gate (<see cref="QueueGate"/>).
/// </summary>
internal sealed class MessageIndex(QueueMetrics metrics)
{
    private readonly Dictionary<long, QueuedMessage> _byFirstAddress = [];
    private readonly SortedSet<long> _firstAddresses = [];
    private readonly PriorityQueue<QueuedMessage, long> _due = new();

    /// <summary>Live messages. Under the gate.</summary>
    public int Count => _byFirstAddress.Count;

    /// <summary>Live messages in no particular order. Under the gate; do not change the index while enumerating.</summary>
    public IEnumerable<QueuedMessage> Messages => _byFirstAddress.Values;

    /// <summary>Live messages, oldest first (admin listing; allocates). Under the gate.</summary>
    public IEnumerable<QueuedMessage> OldestFirst => _firstAddresses.Select(first => _byFirstAddress[first]);

    /// <summary>The oldest live message, or null when the queue is empty. Under the gate.</summary>
    public QueuedMessage? Oldest => _firstAddresses.Count == 0 ? null : _byFirstAddress[_firstAddresses.Min];

    /// <summary>Where the oldest live message starts in the log; long.MaxValue when the queue is empty. Under the gate.</summary>
    public long OldestLiveAddress => _firstAddresses.Count == 0 ? long.MaxValue : _firstAddresses.Min;

    /// <summary>The earliest due time in the heap (stale entries included: they only wake the scheduler early);
    /// long.MaxValue when it is empty. Under the gate.</summary>
    public long NextDueMs => _due.TryPeek(out _, out long next) ? next : long.MaxValue;

    /// <summary>Sizes the index once before a rebuild adds <paramref name="messages"/>: growing by doubling to a
    /// million entries rehashes and copies it many times over. Under the gate.</summary>
    public void EnsureCapacity(int messages)
    {
        _byFirstAddress.EnsureCapacity(messages);
        _due.EnsureCapacity(messages);
    }

    /// <summary>Adds a message (its pool already chosen) and schedules its next due time. Under the gate.</summary>
    public void Add(QueuedMessage message)
    {
        long first = message.Envelope.FirstAddress;
        _byFirstAddress.Add(first, message);
        _firstAddresses.Add(first);
        int deferred = 0;
        foreach (RecipientState state in message.States)
        {
            deferred += state.Status == RecipientStatus.Deferred ? 1 : 0;
        }

        metrics.MessageIndexed(message.Remaining - deferred, deferred);
        Schedule(message, message.NextDueMs());
    }

    /// <summary>Drops a message whose recipients are all final. Under the gate.</summary>
    public void Remove(QueuedMessage message)
    {
        long first = message.Envelope.FirstAddress;
        _byFirstAddress.Remove(first);
        _firstAddresses.Remove(first);
        message.ScheduledDueMs = long.MaxValue;
        metrics.MessageRemoved();
    }

    /// <summary>Re-keys a message copied forward to its new place in the log. Under the gate.</summary>
    public void Move(QueuedMessage message, SpooledEnvelope moved)
    {
        long old = message.Envelope.FirstAddress;
        _byFirstAddress.Remove(old);
        _firstAddresses.Remove(old);
        message.Envelope = moved;
        _byFirstAddress.Add(moved.FirstAddress, message);
        _firstAddresses.Add(moved.FirstAddress);
    }

    /// <summary>Puts the message in the heap for <paramref name="dueMs"/> unless it is already due earlier. Under the gate.</summary>
    public void Schedule(QueuedMessage message, long dueMs)
    {
        if (dueMs == long.MaxValue || dueMs >= message.ScheduledDueMs)
        {
            return;
        }

        // An earlier entry for the message stays in the heap and is skipped when it comes out (ScheduledDueMs no
        // longer matches): cheaper than a heap with removal, and bounded by the number of reschedules.
        message.ScheduledDueMs = dueMs;
        _due.Enqueue(message, dueMs);
    }

    /// <summary>Takes the next message due at <paramref name="now"/> off the heap (skipping stale entries); it is no
    /// longer scheduled until planned. Under the gate.</summary>
    public bool TryTakeDue(long now, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out QueuedMessage? message)
    {
        while (_due.TryPeek(out message, out long dueMs) && dueMs <= now)
        {
            _due.Dequeue();
            if (message.ScheduledDueMs == dueMs)
            {
                message.ScheduledDueMs = long.MaxValue;
                return true;
            }
        }

        message = null;
        return false;
    }

    /// <summary>
    /// A scheduling pass that threw may have taken a message from the heap and not planned it yet: the heap is
    /// rebuilt from the live messages before the restarted scheduler plans again. O(live messages), only after a
    /// failure. Under the gate.
    /// </summary>
    public void RebuildDueHeap()
    {
        _due.Clear();
        foreach (QueuedMessage message in _byFirstAddress.Values)
        {
            message.ScheduledDueMs = long.MaxValue;
            Schedule(message, message.NextDueMs());
        }
    }
}
