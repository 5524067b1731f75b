using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>Who decided the outcomes: a delivery attempt, or an administrator (bounce or delete without attempt).</summary>
internal enum AttemptKind
{
    Delivery,
    AdminBounce,
    AdminDelete,
}

/// <summary>
/// Records a transaction's outcomes: the DSN first (for what failed), then every recipient's new state durably in the
/// spool, then the delivery events and metrics, then the state in memory, which reschedules or retires the message.
/// Called without the gate; takes it only to apply the states.
/// </summary>
internal sealed class OutcomeRecorder(QueueGate gate, MessageIndex index, MessageSpool spool, DsnGenerator dsn, IDeliveryEventSink events,
    QueueOptions options, QueueMetrics metrics, ILogger logger, TimeProvider time)
{
    /// <param name="attempt">The attempt that produced <paramref name="result"/>; null for an administrator's decision.</param>
    public async Task RecordAsync(DeliveryWork work, DeliveryResult result, MessageBody body, double seconds, AttemptKind kind, AttemptRecord? attempt)
    {
        QueuedMessage message = work.Message;
        DateTimeOffset now = time.GetUtcNow();
        long nowMs = now.ToUnixTimeMilliseconds();
        long expiresMs = message.ExpiresAtMs(options.MaxAge);
        int count = work.RecipientIndexes.Count;
        var states = new RecipientState[count];
        var outcomes = new MappedOutcome[count];
        var replies = new RecipientResult[count];
        List<BouncedRecipient>? bounced = null;
        for (int k = 0; k < count; k++)
        {
            int index = work.RecipientIndexes[k];
            // Only this worker touches an in-flight recipient. An administrator's decision is not a delivery attempt.
            int attempts = message.States[index].Attempts + (kind == AttemptKind.Delivery ? 1 : 0);
            RecipientResult reply = k < result.Recipients.Count
                ? result.Recipients[k]
                : new RecipientResult(RecipientOutcome.Deferred, 451, "4.3.0", "the delivery agent reported no result for this recipient");
            replies[k] = reply;
            MappedOutcome outcome = OutcomeMapper.Map(reply.Outcome, expired: nowMs >= expiresMs);
            outcomes[k] = outcome;
            if (outcome.Status == RecipientStatus.Deferred)
            {
                // The last retry falls at the expiry time, so an expired recipient is tried once more first.
                long next = Math.Min(nowMs + (long)options.RetryDelay(attempts).TotalMilliseconds, expiresMs);
                states[k] = new RecipientState(index, RecipientStatus.Deferred, attempts, next);
            }
            else
            {
                states[k] = new RecipientState(index, outcome.Status, attempts, 0);
                if (outcome.Status == RecipientStatus.Failed)
                {
                    (bounced ??= []).Add(new BouncedRecipient(index, reply));
                }
            }
        }

        // The DSN is durable before the failure is: a crash in between sends the DSN twice, never not at all.
        if (bounced is not null && kind != AttemptKind.AdminDelete)
        {
            await dsn.BounceAsync(message.Envelope, bounced, result.RemoteHost, body, now).ConfigureAwait(false);
        }

        try
        {
            await spool.AppendStatesAsync(message.Envelope.LogAddress, states, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Applied in memory anyway: this process will not repeat the attempt, a restart may (at-least-once).
            metrics.Error("state_write");
            Log.StateWriteFailed(logger, message.Envelope.Id.ToString(), e);
        }

        Publish(message, work, result, states, outcomes, replies, now, seconds, attempt);
        int deferred = 0;
        lock (gate.Lock)
        {
            for (int k = 0; k < count; k++)
            {
                message.Apply(states[k]);
                message.SetInFlight(states[k].RecipientIndex, false);
                deferred += states[k].Status == RecipientStatus.Deferred ? 1 : 0;
            }

            metrics.AttemptEnded(count, deferred, backToPending: 0);
            if (message.Remaining == 0)
            {
                index.Remove(message);
            }
            else if (!gate.StopRequested)
            {
                index.Schedule(message, message.NextDueMs());
            }
        }

        gate.Signal(); // the scheduler may be asleep with an older next due time
    }

    /// <summary>The Reception event of a message the spool just committed. Without the gate.</summary>
    public void PublishReception(SpooledEnvelope envelope) => events.Publish(new DeliveryEvent
    {
        Type = DeliveryEventType.Reception,
        Timestamp = envelope.ReceivedAt,
        MessageId = envelope.Id.ToString(),
        Sender = envelope.Sender,
        RecipientCount = envelope.Recipients.Count,
        ClientAddress = envelope.ClientAddress,
        Size = envelope.BodyLength,
    });

    private void Publish(QueuedMessage message, DeliveryWork work, DeliveryResult result, RecipientState[] states, MappedOutcome[] outcomes,
        RecipientResult[] replies, DateTimeOffset now, double seconds, AttemptRecord? attempt)
    {
        SpooledEnvelope envelope = message.Envelope;
        string id = envelope.Id.ToString();
        double queueTime = (now - envelope.ReceivedAt).TotalSeconds;
        for (int k = 0; k < states.Length; k++)
        {
            metrics.Outcome(outcomes[k].MetricTag);
            if (outcomes[k].EventType == DeliveryEventType.Delivery)
            {
                metrics.Delivered(queueTime);
            }

            events.Publish(new DeliveryEvent
            {
                Type = outcomes[k].EventType,
                Timestamp = now,
                MessageId = id,
                Sender = envelope.Sender,
                Recipient = envelope.Recipients[states[k].RecipientIndex].Address,
                Domain = work.Domain,
                Pool = message.Pool,
                Source = attempt?.SourceName,
                Rule = attempt?.RuleName,
                Site = attempt?.Site,
                RemoteHost = result.RemoteHost,
                RemoteAddress = result.RemoteAddress,
                SourceAddress = result.SourceAddress,
                ReplyCode = replies[k].ReplyCode,
                EnhancedStatus = replies[k].EnhancedStatus,
                Response = replies[k].Response,
                Attempt = states[k].Attempts,
                Size = envelope.BodyLength,
                QueueTime = queueTime,
                Duration = seconds,
            });
        }
    }
}
