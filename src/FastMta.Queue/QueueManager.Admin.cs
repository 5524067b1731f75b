using System.Buffers;
using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>A recipient as the admin API shows it. Status: pending, in_flight (attempt running or waiting in its
/// destination's ready queue), deferred, delivered, failed.</summary>
public sealed record QueuedRecipientInfo(string Address, string Domain, string Status, int Attempts, DateTimeOffset? NextAttempt);

/// <summary>A live message for the admin API; <paramref name="Pool"/> is the egress pool it leaves from.</summary>
public sealed record QueuedMessageInfo(string Id, string Sender, DateTimeOffset ReceivedAt, long Size, IReadOnlyList<QueuedRecipientInfo> Recipients,
    string Pool);

/// <summary>Queued recipients of one destination domain.</summary>
public sealed record DestinationSummary(string Domain, int Messages, int Pending, int InFlight, int Deferred, int ActiveAttempts,
    DateTimeOffset? NextAttempt, DateTimeOffset? SuspendedUntil);

public sealed record QueueSummary(int Messages, int Pending, int InFlight, int Deferred, int DestinationCount, IReadOnlyList<DestinationSummary> Destinations);

/// <summary>What an administrative bounce or delete did.</summary>
public sealed record AdminOutcome(int Messages, int Recipients, int SkippedInFlight);

// Operator actions for the admin API. Reads walk the live index under the lock: O(live messages), fine for an operator
// request, never done by the delivery path. Suspensions live in memory (they end at restart, like KumoMTA's).
public sealed partial class QueueManager
{
    private readonly Dictionary<string, long> _suspendedUntil = new(StringComparer.OrdinalIgnoreCase);

    public QueueSummary GetSummary(int maxDestinations = 1000)
    {
        var byDomain = new Dictionary<string, DomainCounts>(StringComparer.OrdinalIgnoreCase);
        int pending = 0, inFlight = 0, deferred = 0, messages;
        lock (_gate)
        {
            messages = _byFirstAddress.Count;
            foreach (QueuedMessage message in _byFirstAddress.Values)
            {
                HashSet<string>? seen = null;
                for (int i = 0; i < message.States.Length; i++)
                {
                    RecipientState state = message.States[i];
                    if (state.IsFinal)
                    {
                        continue;
                    }

                    string domain = message.Envelope.Recipients[i].Domain;
                    if (!byDomain.TryGetValue(domain, out DomainCounts? counts))
                    {
                        byDomain[domain] = counts = new DomainCounts();
                    }

                    if ((seen ??= new(StringComparer.OrdinalIgnoreCase)).Add(domain))
                    {
                        counts.Messages++;
                    }

                    switch (StatusOf(message, i))
                    {
                        case "in_flight":
                            counts.InFlight++;
                            inFlight++;
                            break;
                        case "deferred":
                            counts.Deferred++;
                            deferred++;
                            counts.NextAttemptMs = Math.Min(counts.NextAttemptMs, state.NextAttemptUnixMs);
                            break;
                        default:
                            counts.Pending++;
                            pending++;
                            break;
                    }
                }
            }

            foreach (string suspended in _suspendedUntil.Keys)
            {
                byDomain.TryAdd(suspended, new DomainCounts());
            }

            var summaries = byDomain
                .OrderByDescending(d => d.Value.Pending + d.Value.InFlight + d.Value.Deferred)
                .ThenBy(d => d.Key, StringComparer.Ordinal)
                .Take(maxDestinations)
                .Select(d => new DestinationSummary(d.Key, d.Value.Messages, d.Value.Pending, d.Value.InFlight, d.Value.Deferred,
                    DestinationsOf(d.Key).Sum(q => q.Active),
                    d.Value.NextAttemptMs == long.MaxValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(d.Value.NextAttemptMs),
                    _suspendedUntil.TryGetValue(d.Key, out long until) ? ToTime(until) : null))
                .ToList();
            return new QueueSummary(messages, pending, inFlight, deferred, byDomain.Count, summaries);
        }
    }

    /// <summary>Live messages, oldest first, optionally only those with a queued recipient in <paramref name="domain"/>.</summary>
    public IReadOnlyList<QueuedMessageInfo> ListMessages(string? domain, int limit)
    {
        var list = new List<QueuedMessageInfo>();
        lock (_gate)
        {
            foreach (long first in _firstAddresses)
            {
                if (list.Count >= limit)
                {
                    break;
                }

                QueuedMessage message = _byFirstAddress[first];
                if (domain is null || HasQueuedRecipientIn(message, domain))
                {
                    list.Add(Describe(message));
                }
            }
        }

        return list;
    }

    public QueuedMessageInfo? FindMessage(string id)
    {
        lock (_gate)
        {
            foreach (QueuedMessage message in _byFirstAddress.Values)
            {
                if (message.Envelope.Id.ToString().Equals(id, StringComparison.OrdinalIgnoreCase))
                {
                    return Describe(message);
                }
            }
        }

        return null;
    }

    /// <summary>The longest timed suspension (365 days; longer ones are meant as "until resumed": no duration).</summary>
    public static readonly TimeSpan MaxSuspension = TimeSpan.FromDays(365);

    /// <summary>Stops starting attempts to <paramref name="domain"/> (running ones finish) until resumed or for <paramref name="duration"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="duration"/> is not in (0, <see cref="MaxSuspension"/>];
    /// nothing is stored.</exception>
    public DateTimeOffset? Suspend(string domain, TimeSpan? duration)
    {
        if (duration is { } length && (length <= TimeSpan.Zero || length > MaxSuspension))
        {
            throw new ArgumentOutOfRangeException(nameof(duration), length, $"A suspension lasts more than zero and at most {MaxSuspension:c}.");
        }

        long until = duration is { } d ? NowMs + (long)d.TotalMilliseconds : long.MaxValue;
        lock (_gate)
        {
            _suspendedUntil[domain.ToLowerInvariant()] = until;
        }

        Signal(); // the scheduler wakes at the suspension's end
        return ToTime(until);
    }

    public bool Resume(string domain)
    {
        bool removed;
        lock (_gate)
        {
            removed = _suspendedUntil.Remove(domain);
            foreach (DestinationQueue queue in removed ? DestinationsOf(domain) : [])
            {
                MakeRunnableIfReady(queue);
            }
        }

        Signal();
        return removed;
    }

    public IReadOnlyDictionary<string, DateTimeOffset?> Suspensions()
    {
        lock (_gate)
        {
            return _suspendedUntil.ToDictionary(s => s.Key, s => ToTime(s.Value));
        }
    }

    /// <summary>Makes every deferred recipient (of <paramref name="domain"/>, or all) due now. Returns how many.</summary>
    public int RetryNow(string? domain)
    {
        int count = 0;
        lock (_gate)
        {
            foreach (QueuedMessage message in _byFirstAddress.Values)
            {
                bool touched = false;
                for (int i = 0; i < message.States.Length; i++)
                {
                    RecipientState state = message.States[i];
                    if (state.Status == RecipientStatus.Deferred && !message.IsInFlight(i)
                        && (domain is null || message.Envelope.Recipients[i].Domain.Equals(domain, StringComparison.OrdinalIgnoreCase)))
                    {
                        // In memory only: after a restart the recorded retry time applies again, which is harmless.
                        message.States[i] = state with { NextAttemptUnixMs = 0 };
                        touched = true;
                        count++;
                    }
                }

                if (touched)
                {
                    Schedule(message, 0);
                }
            }
        }

        Signal();
        return count;
    }

    /// <summary>
    /// Fails every queued recipient of <paramref name="domain"/> now: with a DSN to the sender (bounce) or silently
    /// (delete). Recipients in an attempt right now are left to it and counted as skipped.
    /// </summary>
    public async Task<AdminOutcome> FailAllAsync(string domain, bool sendDsn, string reason, CancellationToken cancellationToken)
    {
        var selected = new List<DeliveryWork>();
        int skipped = 0;
        lock (_gate)
        {
            // Work waiting in the destination's ready queue has not started: take it back.
            foreach (DestinationQueue queue in DestinationsOf(domain))
            {
                while (queue.TryDequeue(out DeliveryWork? waiting))
                {
                    ReturnToQueue(waiting);
                }
            }

            foreach (QueuedMessage message in _byFirstAddress.Values)
            {
                if (message.Moving)
                {
                    skipped += CountQueuedIn(message, domain);
                    continue;
                }

                List<int>? indexes = null;
                int fromPending = 0, fromDeferred = 0;
                for (int i = 0; i < message.States.Length; i++)
                {
                    if (message.States[i].IsFinal || !message.Envelope.Recipients[i].Domain.Equals(domain, StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    if (message.IsInFlight(i))
                    {
                        skipped++;
                        continue;
                    }

                    (indexes ??= []).Add(i);
                    message.SetInFlight(i, true);
                    _ = message.States[i].Status == RecipientStatus.Deferred ? fromDeferred++ : fromPending++;
                }

                if (indexes is not null)
                {
                    _metrics.AttemptStarted(fromPending, fromDeferred);
                    selected.Add(new DeliveryWork(message, message.Envelope.Recipients[indexes[0]].Domain, [.. indexes]));
                }
            }
        }

        int recipients = 0;
        string text = (sendDsn ? "bounced" : "deleted") + " by the administrator: " + reason;
        foreach (DeliveryWork work in selected)
        {
            using MessageBody body = sendDsn
                ? await _spool.OpenBodyAsync(work.Message.Envelope.LogAddress, cancellationToken).ConfigureAwait(false)
                : MessageBody.Empty;
            var result = new DeliveryResult
            {
                Recipients = [.. work.RecipientIndexes.Select(_ => new RecipientResult(RecipientOutcome.Failed, 550, "5.0.0", text))],
            };
            await RecordOutcomesAsync(work, result, body, 0, sendDsn ? AttemptKind.AdminBounce : AttemptKind.AdminDelete).ConfigureAwait(false);
            recipients += work.RecipientIndexes.Count;
        }

        return new AdminOutcome(selected.Count, recipients, skipped);
    }

    // A transaction taken back from a ready queue: its recipients are queued again as they were.
    private void ReturnToQueue(DeliveryWork work)
    {
        int pending = 0, deferred = 0;
        foreach (int index in work.RecipientIndexes)
        {
            work.Message.SetInFlight(index, false);
            _ = work.Message.States[index].Status == RecipientStatus.Deferred ? deferred++ : pending++;
        }

        _metrics.AttemptEnded(work.RecipientIndexes.Count, stillQueued: deferred, backToPending: pending);
        Schedule(work.Message, work.Message.NextDueMs());
    }

    // The ready queues of a domain, one per pool sending to it (a short list; operator actions only).
    private List<DestinationQueue> DestinationsOf(string domain) =>
        _destinations.Values.Where(q => q.Domain.Equals(domain, StringComparison.OrdinalIgnoreCase)).ToList();

    private bool IsSuspended(string domain, long now) =>
        _suspendedUntil.Count > 0 && _suspendedUntil.TryGetValue(domain, out long until) && until > now;

    /// <summary>Ends suspensions whose time has come; returns the earliest end still ahead (long.MaxValue if none).</summary>
    private long ExpireSuspensions(long now)
    {
        if (_suspendedUntil.Count == 0)
        {
            return long.MaxValue;
        }

        long next = long.MaxValue;
        foreach ((string domain, long until) in _suspendedUntil)
        {
            if (until <= now)
            {
                _suspendedUntil.Remove(domain);
                foreach (DestinationQueue queue in DestinationsOf(domain))
                {
                    MakeRunnableIfReady(queue);
                }
            }
            else
            {
                next = Math.Min(next, until);
            }
        }

        return next;
    }

    private static DateTimeOffset? ToTime(long unixMs) => unixMs == long.MaxValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    private static string StatusOf(QueuedMessage message, int index) => message.States[index].Status switch
    {
        RecipientStatus.Delivered => "delivered",
        RecipientStatus.Failed => "failed",
        _ when message.IsInFlight(index) => "in_flight",
        RecipientStatus.Deferred => "deferred",
        _ => "pending",
    };

    private static QueuedMessageInfo Describe(QueuedMessage message)
    {
        SpooledEnvelope envelope = message.Envelope;
        var recipients = new QueuedRecipientInfo[message.States.Length];
        for (int i = 0; i < recipients.Length; i++)
        {
            RecipientState state = message.States[i];
            recipients[i] = new QueuedRecipientInfo(envelope.Recipients[i].Address, envelope.Recipients[i].Domain, StatusOf(message, i),
                state.Attempts, state.Status == RecipientStatus.Deferred ? DateTimeOffset.FromUnixTimeMilliseconds(state.NextAttemptUnixMs) : null);
        }

        return new QueuedMessageInfo(envelope.Id.ToString(), envelope.Sender, envelope.ReceivedAt, envelope.BodyLength, recipients, message.Pool);
    }

    private static bool HasQueuedRecipientIn(QueuedMessage message, string domain) => CountQueuedIn(message, domain) > 0;

    private static int CountQueuedIn(QueuedMessage message, string domain)
    {
        int count = 0;
        for (int i = 0; i < message.States.Length; i++)
        {
            if (!message.States[i].IsFinal && message.Envelope.Recipients[i].Domain.Equals(domain, StringComparison.OrdinalIgnoreCase))
            {
                count++;
            }
        }

        return count;
    }

    private sealed class DomainCounts
    {
        public int Messages;
        public int Pending;
        public int InFlight;
        public int Deferred;
        public long NextAttemptMs = long.MaxValue;
    }
}
