using System.Diagnostics;
using System.Text;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>
/// Runs delivery attempts: one worker per started transaction reads the body, calls the agent, tells the observers,
/// releases the slot and has the outcomes recorded. Knows how many workers run, so that stopping can wait for them
/// (and cancel them after a grace period).
/// </summary>
internal sealed class AttemptRunner : IDisposable
{
    private readonly QueueGate _gate;
    private readonly DestinationScheduler _scheduler;
    private readonly OutcomeRecorder _recorder;
    private readonly MessageSpool _spool;
    private readonly IDeliveryAgent _agent;
    private readonly IAttemptObserver[] _observers;
    private readonly QueueMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _abort = new();
    private readonly TaskCompletionSource _workersDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _workersRunning;

    public AttemptRunner(QueueGate gate, DestinationScheduler scheduler, OutcomeRecorder recorder, MessageSpool spool, IDeliveryAgent agent,
        IAttemptObserver[] observers, QueueMetrics metrics, ILogger logger)
    {
        _gate = gate;
        _scheduler = scheduler;
        _recorder = recorder;
        _spool = spool;
        _agent = agent;
        _observers = observers;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Starts a worker for a transaction the scheduler took (its slot already counted). Under the gate: the
    /// worker yields before it does anything, so it never runs under the scheduler's lock.</summary>
    public void Start(DestinationQueue destination, DeliveryWork work, Admission admission)
    {
        Interlocked.Increment(ref _workersRunning);
        _ = RunAsync(destination, work, admission);
    }

    /// <summary>
    /// After the scheduler has stopped (<see cref="QueueGate.StopRequested"/> set): lets the attempts in flight finish
    /// for up to <paramref name="grace"/>, then cancels them (their recipients stay queued in the spool and are
    /// retried after restart). Without the gate.
    /// </summary>
    public async Task DrainAsync(TimeSpan grace, TimeProvider time)
    {
        int running = Volatile.Read(ref _workersRunning);
        if (running == 0)
        {
            _workersDone.TrySetResult();
        }

        Log.Stopping(_logger, grace.TotalSeconds, running);
        if (await Task.WhenAny(_workersDone.Task, TimerSpan.DelayAsync(grace, time, CancellationToken.None)).ConfigureAwait(false) != _workersDone.Task)
        {
            _abort.Cancel();
            await _workersDone.Task.ConfigureAwait(false);
        }
    }

    public void Dispose() => _abort.Dispose();

    private async Task RunAsync(DestinationQueue destination, DeliveryWork work, Admission admission)
    {
        await Task.Yield(); // leave the scheduler's lock and thread before anything else runs
        QueuedMessage message = work.Message;
        CancellationToken abort = _abort.Token;
        bool slotReleased = false;
        try
        {
            long started = Stopwatch.GetTimestamp();
            MessageBody body = MessageBody.Empty;
            DeliveryResult? result = null;
            try
            {
                // Only the envelope entry is read here; the agent reads the chunks as it sends them.
                body = await _spool.OpenBodyAsync(message.Envelope, abort).ConfigureAwait(false);
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

            TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
            double seconds = elapsed.TotalSeconds;
            _metrics.AttemptDuration(seconds);
            var attempt = new AttemptRecord
            {
                MessageId = message.Envelope.Id,
                Destination = new DestinationKey(destination.Pool, destination.Domain),
                SourceName = admission.Source?.Name,
                SourceAddress = admission.Source?.Address,
                RuleName = admission.Rule?.Name,
                Site = destination.Site,
                RemoteHost = result.RemoteAddress is null ? null : result.RemoteHost, // named but never connected to: none
                ConnectionsOpened = result.ConnectionsOpened,
                Duration = elapsed,
                Recipients = result.Recipients,
                Slot = admission.Slot,
            };
            Notify(attempt);

            // The SMTP work is done and the connection is back in the pool: the destination's next transaction may
            // start while this one's outcomes are being committed (they stay in flight until recorded).
            _scheduler.ReleaseSlot(destination, admission.Slot);
            slotReleased = true;
            try
            {
                await _recorder.RecordAsync(work, result, body, seconds, AttemptKind.Delivery, attempt).ConfigureAwait(false);
            }
            finally
            {
                body.Dispose();
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Shut down mid-attempt: nothing was recorded, so the recipients are retried after restart.
            lock (_gate.Lock)
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
                _scheduler.ReleaseSlot(destination, admission.Slot);
            }

            lock (_gate.Lock)
            {
                _scheduler.ReturnWork(work); // its outcomes are recorded (or abandoned): nothing refers to it any more
            }

            if (Interlocked.Decrement(ref _workersRunning) == 0 && _gate.StopRequested)
            {
                _workersDone.TrySetResult();
            }
        }
    }

    // Every observer, in order, without the gate. A throwing observer breaks its contract; it must not cost the
    // attempt its recorded outcome, nor the other observers their call.
    private void Notify(in AttemptRecord attempt)
    {
        foreach (IAttemptObserver observer in _observers)
        {
            try
            {
                observer.OnAttempt(in attempt);
            }
            catch (Exception e)
            {
                _metrics.Error("observer");
                Log.ObserverFailed(_logger, observer.GetType().Name, attempt.MessageId.ToString(), e);
            }
        }
    }

    private static DeliveryRequest CreateRequest(DeliveryWork work, MessageBody body, Admission admission)
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
}
