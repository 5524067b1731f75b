using System.Buffers;
using System.Diagnostics;
using System.Text;
using FastMta.Shaping;
using FastMta.Spool;

namespace FastMta.Queue;

// One delivery attempt: read the body, call the agent, then record every recipient's outcome (durably first, then in
// memory), publish the events and bounce what failed.
public sealed partial class QueueManager
{
    private async Task RunWorkerAsync(DestinationQueue destination, DeliveryWork work, Admission admission)
    {
        await Task.Yield(); // leave the scheduler's lock and thread before anything else runs
        QueuedMessage message = work.Message;
        CancellationToken abort = _abortDeliveries.Token;
        bool slotReleased = false;
        try
        {
            long started = Stopwatch.GetTimestamp();
            MessageBody body = MessageBody.Empty;
            DeliveryResult? result = null;
            try
            {
                // Only the envelope entry is read here; the agent reads the chunks as it sends them.
                body = await _spool.OpenBodyAsync(message.Envelope.LogAddress, abort).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _metrics.Error("body_read");
                Log.BodyReadFailed(_logger, message.Envelope.Id.ToString(), e);
                result = LocalFailure(work, "4.3.0", "the message could not be read from the spool: " + e.Message);
            }

            if (result is null)
            {
                try
                {
                    result = await _agent.DeliverAsync(CreateRequest(work, body, admission), abort).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException || !abort.IsCancellationRequested)
                {
                    _metrics.Error("agent");
                    Log.AgentFailed(_logger, message.Envelope.Id.ToString(), work.Domain, e);
                    result = LocalFailure(work, "4.3.0", "local delivery error: " + e.Message);
                }
            }

            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            _metrics.AttemptDuration(seconds);
            if (admission.Slot.IsValid)
            {
                _shaper!.ConnectionsOpened(admission.Slot, result.ConnectionsOpened); // ConnectionsPerMinute counts real ones
            }

            // The SMTP work is done and the connection is back in the pool: the destination's next transaction may
            // start while this one's outcomes are being committed (they stay in flight until recorded).
            ReleaseSlot(destination, admission.Slot);
            slotReleased = true;
            try
            {
                await RecordOutcomesAsync(work, result, body, seconds, AttemptKind.Delivery).ConfigureAwait(false);
            }
            finally
            {
                body.Dispose();
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Shut down mid-attempt: nothing was recorded, so the recipients are retried after restart.
            lock (_gate)
            {
                foreach (int index in work.RecipientIndexes)
                {
                    message.SetInFlight(index, false);
                }

                _metrics.AttemptEnded(work.RecipientIndexes.Count, stillQueued: 0, backToPending: work.RecipientIndexes.Count);
            }
        }
        finally
        {
            if (!slotReleased)
            {
                ReleaseSlot(destination, admission.Slot);
            }

            lock (_gate)
            {
                ReturnWork(work); // its outcomes are recorded (or abandoned): nothing refers to it any more
            }

            if (Interlocked.Decrement(ref _workersRunning) == 0 && Volatile.Read(ref _stopRequested))
            {
                _workersDone.TrySetResult();
            }
        }
    }

    private DeliveryRequest CreateRequest(DeliveryWork work, MessageBody body, Admission admission)
    {
        SpooledEnvelope envelope = work.Message.Envelope;
        var recipients = new string[work.RecipientIndexes.Count];
        bool nonAscii = !Ascii.IsValid(envelope.Sender);
        for (int i = 0; i < recipients.Length; i++)
        {
            recipients[i] = envelope.Recipients[work.RecipientIndexes[i]].Address;
            nonAscii |= !Ascii.IsValid(recipients[i]);
        }

        return new DeliveryRequest
        {
            MessageId = envelope.Id,
            Domain = work.Domain,
            Sender = envelope.Sender,
            Recipients = recipients,
            Body = body,
            RequiresSmtpUtf8 = nonAscii || work.Message.SmtpUtf8Requested,
            EightBitMime = work.Message.EightBitMime,
            SourceAddress = admission.Source?.Address,
            EhloName = admission.Source?.EhloName,
            MaxMessagesPerConnection = admission.Rule?.MaxMessagesPerConnection,
        };
    }

    private static DeliveryResult LocalFailure(DeliveryWork work, string status, string text)
    {
        var results = new RecipientResult[work.RecipientIndexes.Count];
        Array.Fill(results, new RecipientResult(RecipientOutcome.Deferred, 451, status, text));
        return new DeliveryResult { Recipients = results, ConnectionsOpened = 0 };
    }

    /// <summary>Who decided the outcomes: a delivery attempt, or an administrator (bounce or delete without attempt).</summary>
    private enum AttemptKind
    {
        Delivery,
        AdminBounce,
        AdminDelete,
    }

    private async Task RecordOutcomesAsync(DeliveryWork work, DeliveryResult result, MessageBody body, double seconds, AttemptKind kind)
    {
        QueuedMessage message = work.Message;
        DateTimeOffset now = _time.GetUtcNow();
        long nowMs = now.ToUnixTimeMilliseconds();
        long expiresMs = message.ExpiresAtMs(_options.MaxAge);
        int count = work.RecipientIndexes.Count;
        var states = new RecipientState[count];
        var types = new DeliveryEventType[count];
        var replies = new RecipientResult[count];
        List<Bounced>? bounced = null;
        for (int k = 0; k < count; k++)
        {
            int index = work.RecipientIndexes[k];
            // Only this worker touches an in-flight recipient. An administrator's decision is not a delivery attempt.
            int attempts = message.States[index].Attempts + (kind == AttemptKind.Delivery ? 1 : 0);
            RecipientResult reply = k < result.Recipients.Count
                ? result.Recipients[k]
                : new RecipientResult(RecipientOutcome.Deferred, 451, "4.3.0", "the delivery agent reported no result for this recipient");
            replies[k] = reply;
            switch (reply.Outcome)
            {
                case RecipientOutcome.Delivered:
                    states[k] = new RecipientState(index, RecipientStatus.Delivered, attempts, 0);
                    types[k] = DeliveryEventType.Delivery;
                    break;
                case RecipientOutcome.Failed:
                    states[k] = new RecipientState(index, RecipientStatus.Failed, attempts, 0);
                    types[k] = DeliveryEventType.Bounce;
                    (bounced ??= []).Add(new Bounced(index, reply));
                    break;
                default:
                    if (nowMs >= expiresMs)
                    {
                        states[k] = new RecipientState(index, RecipientStatus.Failed, attempts, 0);
                        types[k] = DeliveryEventType.Expiration;
                        (bounced ??= []).Add(new Bounced(index, reply));
                    }
                    else
                    {
                        // The last retry falls at the expiry time, so an expired recipient is tried once more first.
                        long next = Math.Min(nowMs + (long)_options.RetryDelay(attempts).TotalMilliseconds, expiresMs);
                        states[k] = new RecipientState(index, RecipientStatus.Deferred, attempts, next);
                        types[k] = DeliveryEventType.TransientFailure;
                    }

                    break;
            }
        }

        // The DSN is durable before the failure is: a crash in between sends the DSN twice, never not at all.
        if (bounced is not null && kind != AttemptKind.AdminDelete)
        {
            await BounceAsync(message, bounced, result.RemoteHost, body, now).ConfigureAwait(false);
        }

        try
        {
            await _spool.AppendStatesAsync(message.Envelope.LogAddress, states, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Applied in memory anyway: this process will not repeat the attempt, a restart may (at-least-once).
            _metrics.Error("state_write");
            Log.StateWriteFailed(_logger, message.Envelope.Id.ToString(), e);
        }

        Publish(message, work, result, states, types, replies, now, seconds);
        int deferred = 0;
        lock (_gate)
        {
            for (int k = 0; k < count; k++)
            {
                message.Apply(states[k]);
                message.SetInFlight(states[k].RecipientIndex, false);
                deferred += states[k].Status == RecipientStatus.Deferred ? 1 : 0;
            }

            _metrics.AttemptEnded(count, deferred, backToPending: 0);
            if (message.Remaining == 0)
            {
                Unindex(message);
            }
            else if (!_stopRequested)
            {
                Schedule(message, message.NextDueMs());
            }
        }

        Signal(); // the scheduler may be asleep with an older next due time
    }

    private void Publish(QueuedMessage message, DeliveryWork work, DeliveryResult result, RecipientState[] states, DeliveryEventType[] types, RecipientResult[] replies, DateTimeOffset now, double seconds)
    {
        SpooledEnvelope envelope = message.Envelope;
        string id = envelope.Id.ToString();
        double queueTime = (now - envelope.ReceivedAt).TotalSeconds;
        for (int k = 0; k < states.Length; k++)
        {
            _metrics.Outcome(types[k] switch
            {
                DeliveryEventType.Delivery => "delivered",
                DeliveryEventType.Bounce => "failed",
                DeliveryEventType.Expiration => "expired",
                _ => "deferred",
            });
            if (types[k] == DeliveryEventType.Delivery)
            {
                _metrics.Delivered(queueTime);
            }

            _events.Publish(new DeliveryEvent
            {
                Type = types[k],
                Timestamp = now,
                MessageId = id,
                Sender = envelope.Sender,
                Recipient = envelope.Recipients[states[k].RecipientIndex].Address,
                Domain = work.Domain,
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

    private void PublishReception(SpooledEnvelope envelope) => _events.Publish(new DeliveryEvent
    {
        Type = DeliveryEventType.Reception,
        Timestamp = envelope.ReceivedAt,
        MessageId = envelope.Id.ToString(),
        Sender = envelope.Sender,
        RecipientCount = envelope.Recipients.Count,
        ClientAddress = envelope.ClientAddress,
        Size = envelope.BodyLength,
    });

    private readonly record struct Bounced(int RecipientIndex, RecipientResult Reply);
}
