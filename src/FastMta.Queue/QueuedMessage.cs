using System.Diagnostics.CodeAnalysis;
using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>
/// One live message in the queue: its envelope (where it sits in the spool) and every recipient's state. Mutated only
/// under the queue manager's lock.
/// </summary>
internal sealed class QueuedMessage
{
    // Recipients in flight: a bit each while the message has at most 64 (nearly always: saves an array per message
    // in a queue of millions), an array beyond that.
    private readonly bool[]? _inFlightMany;
    private ulong _inFlightBits;

    public QueuedMessage(SpooledEnvelope envelope)
    {
        Envelope = envelope;
        int count = envelope.Recipients.Count;
        States = new RecipientState[count];
        _inFlightMany = count > 64 ? new bool[count] : null;
        for (int i = 0; i < count; i++)
        {
            States[i] = new RecipientState(i, RecipientStatus.Pending, 0, 0);
        }

        foreach (RecipientState carried in envelope.CarriedStates)
        {
            Apply(carried);
        }

        Recount();
    }

    /// <summary>Replaced when the message is copied forward.</summary>
    public SpooledEnvelope Envelope { get; set; }

    public RecipientState[] States { get; }

    /// <summary>Recipients not yet delivered or failed.</summary>
    public int Remaining { get; private set; }

    /// <summary>Recipients in a delivery attempt now.</summary>
    public int InFlightCount { get; private set; }

    /// <summary>Being copied forward: nothing may be planned or recorded for it until the move is done.</summary>
    public bool Moving { get; set; }

    /// <summary>The message's due time in the scheduler, or long.MaxValue when not scheduled (stale heap entries are skipped).</summary>
    public long ScheduledDueMs { get; set; } = long.MaxValue;

    /// <summary>The client asked for SMTPUTF8 with MAIL FROM.</summary>
    public bool SmtpUtf8Requested => (Envelope.Flags & EnvelopeFlags.SmtpUtf8) != 0;

    public bool EightBitMime => (Envelope.Flags & EnvelopeFlags.EightBitMime) != 0;

    /// <summary>The egress pool traffic shaping sends the message from (chosen when the message is indexed).</summary>
    public string Pool { get; set; } = "default";

    public long ExpiresAtMs(TimeSpan maxAge) => Envelope.ReceivedAt.ToUnixTimeMilliseconds() + (long)maxAge.TotalMilliseconds;

    public bool IsInFlight(int index)
    {
        if (_inFlightMany is not null)
        {
            return _inFlightMany[index];
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)States.Length, nameof(index));
        return (_inFlightBits & (1UL << index)) != 0;
    }

    public void SetInFlight(int index, bool value)
    {
        if (IsInFlight(index) == value)
        {
            return;
        }

        if (_inFlightMany is not null)
        {
            _inFlightMany[index] = value;
        }
        else
        {
            _inFlightBits ^= 1UL << index;
        }

        InFlightCount += value ? 1 : -1;
    }

    /// <summary>Counts the non-final recipients after construction or a rebuild's state records.</summary>
    public void Recount()
    {
        int remaining = 0;
        foreach (RecipientState state in States)
        {
            remaining += state.IsFinal ? 0 : 1;
        }

        Remaining = remaining;
    }

    public void Apply(RecipientState state)
    {
        if ((uint)state.RecipientIndex >= (uint)States.Length)
        {
            return; // a corrupt index cannot come out of a checksummed record; ignore rather than crash the rebuild
        }

        bool wasFinal = States[state.RecipientIndex].IsFinal;
        States[state.RecipientIndex] = state;
        if (!wasFinal && state.IsFinal)
        {
            Remaining--;
        }
    }

    /// <summary>The earliest next attempt among recipients that are neither final nor in flight; long.MaxValue if none.</summary>
    public long NextDueMs()
    {
        long due = long.MaxValue;
        for (int i = 0; i < States.Length; i++)
        {
            if (!States[i].IsFinal && !IsInFlight(i))
            {
                due = Math.Min(due, States[i].NextAttemptUnixMs);
            }
        }

        return due;
    }

    /// <summary>Recipient states worth carrying when the message is copied forward (anything but untouched pending).</summary>
    public RecipientState[] StatesToCarry() =>
        Array.FindAll(States, s => s.Status != RecipientStatus.Pending || s.Attempts > 0);
}

/// <summary>
/// One planned SMTP transaction: some recipients of one message, all in one domain. The scheduler reuses these (see
/// DestinationScheduler.RentWork) so that planning allocates nothing in steady state; the index buffer only grows.
/// </summary>
internal sealed class DeliveryWork
{
    private int[] _indexes = [];
    private int _count;

    public DeliveryWork(QueuedMessage message, string domain, ReadOnlySpan<int> recipientIndexes) => Set(message, domain, recipientIndexes);

    public QueuedMessage Message { get; private set; } = null!;

    public string Domain { get; private set; } = string.Empty;

    /// <summary>Valid until the work is returned to the scheduler's pool (after its outcomes are recorded).</summary>
    public ArraySegment<int> RecipientIndexes => new(_indexes, 0, _count);

    public void Set(QueuedMessage message, string domain, ReadOnlySpan<int> recipientIndexes)
    {
        if (_indexes.Length < recipientIndexes.Length)
        {
            _indexes = new int[recipientIndexes.Length];
        }

        recipientIndexes.CopyTo(_indexes);
        _count = recipientIndexes.Length;
        Message = message;
        Domain = domain;
    }

    /// <summary>Drops the references before pooling, so a pooled object keeps no message alive.</summary>
    public void Clear()
    {
        Message = null!;
        Domain = string.Empty;
        _count = 0;
    }
}

/// <summary>
/// The ready queue of one destination: a domain, and with traffic shaping the egress pool its messages chose. Exists
/// only while it has ready work or deliveries running, so idle destinations cost nothing.
/// </summary>
internal sealed class DestinationQueue(string pool, string domain)
{
    public string Pool { get; } = pool;

    public string Domain { get; } = domain;

    private readonly Queue<DeliveryWork> _ready = new();

    /// <summary>Transactions waiting for their turn.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>Recipients in the waiting transactions, kept as they come and go so that the waiting gauge and the
    /// admin view never walk the queue.</summary>
    public int WaitingRecipients { get; private set; }

    public void Enqueue(DeliveryWork work)
    {
        _ready.Enqueue(work);
        WaitingRecipients += work.RecipientIndexes.Count;
    }

    public bool TryDequeue([NotNullWhen(true)] out DeliveryWork? work)
    {
        if (!_ready.TryDequeue(out work))
        {
            return false;
        }

        WaitingRecipients -= work.RecipientIndexes.Count;
        return true;
    }

    public int Active { get; set; }

    /// <summary>In the scheduler's round-robin list of destinations with ready work.</summary>
    public bool Runnable { get; set; }

    /// <summary>The domain's site (sorted MX names) for shaping rules; null until resolved.</summary>
    public string? Site { get; set; }

    /// <summary>Refused by traffic shaping: out of the line until <see cref="ParkedUntilMs"/> or, when that is
    /// long.MaxValue, until a shaping attempt slot is released.</summary>
    public bool Parked { get; set; }

    public long ParkedUntilMs { get; set; }
}

/// <summary>Destination queues are keyed by (pool, domain): two pools sending to one domain never wait on each other.</summary>
public readonly record struct DestinationKey(string Pool, string Domain);
