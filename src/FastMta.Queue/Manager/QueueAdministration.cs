using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>What an administrative bounce or delete did.</summary>
public sealed record AdminOutcome(int Messages, int Recipients, int SkippedInFlight);

/// <summary>
/// The admin API's actions on queued mail: suspend and resume a domain, retry deferred recipients now, fail a
/// domain's queued recipients (with or without a DSN). Every member is called without the gate.
/// </summary>
internal sealed class QueueAdministration(QueueGate gate, MessageIndex index, DestinationScheduler scheduler, OutcomeRecorder recorder,
    MessageSpool spool, QueueMetrics metrics, TimeProvider time)
{
    /// <summary>The longest timed suspension (365 days; longer ones are meant as "until resumed": no duration).</summary>
    public static readonly TimeSpan MaxSuspension = TimeSpan.FromDays(365);

    public DateTimeOffset? Suspend(string domain, TimeSpan? duration)
    {
        if (duration is { } length && (length <= TimeSpan.Zero || length > MaxSuspension))
        {
            throw new ArgumentOutOfRangeException(nameof(duration), length, $"A suspension lasts more than zero and at most {MaxSuspension:c}.");
        }

        long until = duration is { } d ? time.GetUtcNow().ToUnixTimeMilliseconds() + (long)d.TotalMilliseconds : long.MaxValue;
        lock (gate.Lock)
        {
            scheduler.Suspensions.Suspend(domain, until);
        }

        gate.Signal(); // the scheduler wakes at the suspension's end
        return QueueQueries.ToTime(until);
    }

    public bool Resume(string domain)
    {
        bool removed;
        lock (gate.Lock)
        {
            removed = scheduler.Suspensions.Resume(domain);
            if (removed)
            {
                scheduler.MakeDomainRunnable(domain);
            }
        }

        gate.Signal();
        return removed;
    }

    /// <summary>Makes every deferred recipient (of <paramref name="domain"/>, or all) due now. Returns how many.</summary>
    public int RetryNow(string? domain)
    {
        int count = 0;
        lock (gate.Lock)
        {
            foreach (QueuedMessage message in index.Messages)
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
                    index.Schedule(message, 0);
                }
            }
        }

        gate.Signal();
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
        lock (gate.Lock)
        {
            // Work waiting in the destination's ready queue has not started: take it back.
            scheduler.TakeBackReady(domain);
            foreach (QueuedMessage message in index.Messages)
            {
                if (message.Moving)
                {
                    skipped += QueueQueries.CountQueuedIn(message, domain);
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
                    metrics.AttemptStarted(fromPending, fromDeferred);
                    selected.Add(new DeliveryWork(message, message.Envelope.Recipients[indexes[0]].Domain, [.. indexes]));
                }
            }
        }

        int recipients = 0;
        string text = (sendDsn ? "bounced" : "deleted") + " by the administrator: " + reason;
        foreach (DeliveryWork work in selected)
        {
            using MessageBody body = sendDsn
                ? await spool.OpenBodyAsync(work.Message.Envelope, cancellationToken).ConfigureAwait(false)
                : MessageBody.Empty;
            var result = new DeliveryResult
            {
                Recipients = [.. work.RecipientIndexes.Select(_ => new RecipientResult(RecipientOutcome.Failed, 550, "5.0.0", text))],
            };
            await recorder.RecordAsync(work, result, body, 0, sendDsn ? AttemptKind.AdminBounce : AttemptKind.AdminDelete, attempt: null)
                .ConfigureAwait(false);
            recipients += work.RecipientIndexes.Count;
        }

        return new AdminOutcome(selected.Count, recipients, skipped);
    }
}
