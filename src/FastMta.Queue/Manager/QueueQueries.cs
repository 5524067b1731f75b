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

/// <summary>One destination queue as the admin API shows it.</summary>
/// <param name="Site">The MX set shaping rules match on; null until resolved.</param>
/// <param name="WaitingTransactions">Planned transactions waiting for their turn.</param>
/// <param name="ShapedUntil">Traffic shaping holds the destination until then (the next token or warmup day).</param>
/// <param name="WaitingForConnection">Traffic shaping holds it until a connection slot is released.</param>
/// <param name="Rule">The shaping rule in force for it; null until its site is known.</param>
public sealed record DestinationQueueInfo(string Pool, string Domain, string? Site, string? Rule, int WaitingTransactions, int WaitingRecipients,
    int ActiveAttempts, DateTimeOffset? ShapedUntil, bool WaitingForConnection, bool Suspended);

/// <summary>
/// The admin API's reads of the live queue. Each takes the gate and walks the live index or the destinations:
/// O(live messages) or O(active destinations), fine for an operator request, never done by the delivery path.
/// Every member is called without the gate.
/// </summary>
internal sealed class QueueQueries(QueueGate gate, MessageIndex index, DestinationScheduler scheduler, TimeProvider time)
{
    public int MessageCount
    {
        get
        {
            lock (gate.Lock)
            {
                return index.Count;
            }
        }
    }

    public QueueSummary GetSummary(int maxDestinations)
    {
        var byDomain = new Dictionary<string, DomainCounts>(StringComparer.OrdinalIgnoreCase);
        int pending = 0, inFlight = 0, deferred = 0, messages;
        lock (gate.Lock)
        {
            messages = index.Count;
            foreach (QueuedMessage message in index.Messages)
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

            foreach (string suspended in scheduler.Suspensions.All.Keys)
            {
                byDomain.TryAdd(suspended, new DomainCounts());
            }

            var summaries = byDomain
                .OrderByDescending(d => d.Value.Pending + d.Value.InFlight + d.Value.Deferred)
                .ThenBy(d => d.Key, StringComparer.Ordinal)
                .Take(maxDestinations)
                .Select(d => new DestinationSummary(d.Key, d.Value.Messages, d.Value.Pending, d.Value.InFlight, d.Value.Deferred,
                    scheduler.DestinationsOf(d.Key).Sum(q => q.Active),
                    d.Value.NextAttemptMs == long.MaxValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(d.Value.NextAttemptMs),
                    scheduler.Suspensions.TryGetEnd(d.Key, out long until) ? ToTime(until) : null))
                .ToList();
            return new QueueSummary(messages, pending, inFlight, deferred, byDomain.Count, summaries);
        }
    }

    /// <summary>Live messages, oldest first, optionally only those with a queued recipient in <paramref name="domain"/>.</summary>
    public IReadOnlyList<QueuedMessageInfo> ListMessages(string? domain, int limit)
    {
        var list = new List<QueuedMessageInfo>();
        lock (gate.Lock)
        {
            foreach (QueuedMessage message in index.OldestFirst)
            {
                if (list.Count >= limit)
                {
                    break;
                }

                if (domain is null || CountQueuedIn(message, domain) > 0)
                {
                    list.Add(Describe(message));
                }
            }
        }

        return list;
    }

    public QueuedMessageInfo? FindMessage(string id)
    {
        lock (gate.Lock)
        {
            foreach (QueuedMessage message in index.Messages)
            {
                if (message.Envelope.Id.ToString().Equals(id, StringComparison.OrdinalIgnoreCase))
                {
                    return Describe(message);
                }
            }
        }

        return null;
    }

    public IReadOnlyDictionary<string, DateTimeOffset?> Suspensions()
    {
        lock (gate.Lock)
        {
            return scheduler.Suspensions.All.ToDictionary(s => s.Key, s => ToTime(s.Value));
        }
    }

    /// <summary>
    /// Every active destination queue (ready work or attempts running), busiest first: its pool and site, the
    /// transactions and recipients waiting, attempts running, and why it waits (shaping until a time or a free
    /// connection, or a suspension). O(active destinations).
    /// </summary>
    public IReadOnlyList<DestinationQueueInfo> GetDestinationQueues(int limit)
    {
        lock (gate.Lock)
        {
            long now = time.GetUtcNow().ToUnixTimeMilliseconds();
            return scheduler.Destinations
                .OrderByDescending(d => d.ReadyCount + d.Active)
                .ThenBy(d => d.Domain, StringComparer.Ordinal)
                .Take(limit)
                .Select(d => new DestinationQueueInfo(d.Pool, d.Domain, d.Site, scheduler.RuleOf(d), d.ReadyCount, d.WaitingRecipients, d.Active,
                    d.Parked && d.ParkedUntilMs != long.MaxValue ? DateTimeOffset.FromUnixTimeMilliseconds(d.ParkedUntilMs) : null,
                    d.Parked && d.ParkedUntilMs == long.MaxValue,
                    scheduler.Suspensions.IsSuspended(d.Domain, now)))
                .ToList();
        }
    }

    /// <summary>Queued (not final) recipients of the message in <paramref name="domain"/>. Under the gate.</summary>
    public static int CountQueuedIn(QueuedMessage message, string domain)
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

    /// <summary>Unix milliseconds as a time; long.MaxValue ("never", "until resumed") as null.</summary>
    public static DateTimeOffset? ToTime(long unixMs) => unixMs == long.MaxValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

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

    private sealed class DomainCounts
    {
        public int Messages;
        public int Pending;
        public int InFlight;
        public int Deferred;
        public long NextAttemptMs = long.MaxValue;
    }
}
