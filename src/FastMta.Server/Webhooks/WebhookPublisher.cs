using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using FastMta.Queue;

namespace FastMta.Server.Webhooks;

/// <summary>
/// POSTs delivery events to one webhook as JSON arrays of delivery-log objects (<see cref="DeliveryEventJson"/>).
/// <see cref="Publish"/> only enqueues into a bounded channel; one background task takes up to BatchSize events (or
/// what has arrived once the linger has passed) and posts them. Network errors, timeouts, 408, 429 and 5xx are retried
/// with exponential backoff and jitter up to MaxBackoff (Retry-After is honoured), for as long as it takes: meanwhile
/// the channel fills and further events are dropped and counted, so a slow or dead receiver never slows mail. Any
/// other answer outside 2xx drops the batch (a receiver that refuses it will refuse it again). Does not persist
/// anything: events queued at shutdown that cannot be posted within FlushTimeout are lost (and counted).
/// </summary>
internal sealed class WebhookPublisher : IDeliveryEventSink, IAsyncDisposable
{
    public const string QueueFull = "queue_full";
    public const string Rejected = "rejected";
    public const string Shutdown = "shutdown";

    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);
    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Same bytes as the delivery log: UTF-8 JSON, '<', '>' and non-ASCII unescaped; control characters escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true, // each element is validated by its own writer before WriteRawValue
    };

    private readonly WebhookSettings _settings;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly WebhookMetrics _metrics;
    private readonly uint _eventMask;
    private readonly Channel<DeliveryEvent> _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly ReportThrottle _fullReports = new(ReportInterval);
    private readonly ReportThrottle _retryReports = new(ReportInterval);
    private readonly ReportThrottle _rejectReports = new(ReportInterval);
    private readonly Task _sender;
    private readonly SupervisedLoop _loop;
    private long _posted;
    private long _droppedFull;
    private long _droppedRejected;
    private long _droppedShutdown;
    private long _batchesOk;
    private long _batchesRetried;
    private long _batchesFailed;
    private int _closed;

    public WebhookPublisher(WebhookSettings settings, ILogger logger, WebhookMetrics metrics, HttpClient? http = null)
    {
        _settings = settings;
        _logger = logger;
        _metrics = metrics;
        _http = http ?? SharedHttpClient;
        _eventMask = settings.Events is null ? uint.MaxValue : settings.Events.Aggregate(0u, (mask, type) => mask | Bit(type));
        _channel = Channel.CreateBounded<DeliveryEvent>(new BoundedChannelOptions(settings.MaxQueue)
        {
            // Wait mode, but only TryWrite is ever called: a full channel answers false at once and the event is counted.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _metrics.Register(this, settings.Name);
        WebhookMessages.Started(logger, settings.Name, settings.BatchSize, settings.MaxQueue);
        _loop = new SupervisedLoop("webhook", $"webhook {settings.Name} sender", (loop, _) => RunAsync(loop), logger, _metrics.Loops);
        _sender = Task.Run(() => _loop.RunAsync(_stop.Token)); // _stop also ends a restart's backoff
    }

    /// <summary>One client for every webhook. Connections are recycled every few minutes so a changed DNS record is
    /// followed; redirects are not followed (a 3xx is a rejection: fix the URL).</summary>
    internal static HttpClient SharedHttpClient { get; } = new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AllowAutoRedirect = false,
    })
    {
        Timeout = System.Threading.Timeout.InfiniteTimeSpan, // per request, from the webhook's Timeout
    };

    public string Name => _settings.Name;
    public int QueueLength => _channel.Reader.Count;
    public long EventsPosted => Interlocked.Read(ref _posted);
    public long BatchesOk => Interlocked.Read(ref _batchesOk);
    public long BatchesRetried => Interlocked.Read(ref _batchesRetried);
    public long BatchesFailed => Interlocked.Read(ref _batchesFailed);

    public long EventsDropped(string reason) => reason switch
    {
        QueueFull => Interlocked.Read(ref _droppedFull),
        Rejected => Interlocked.Read(ref _droppedRejected),
        Shutdown => Interlocked.Read(ref _droppedShutdown),
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>Never blocks and never throws. Events of types not configured for this webhook are ignored; when the
    /// queue is full (or closed) the event is dropped and counted.</summary>
    public void Publish(DeliveryEvent deliveryEvent)
    {
        if ((_eventMask & Bit(deliveryEvent.Type)) == 0 || _channel.Writer.TryWrite(deliveryEvent))
        {
            return;
        }

        if (Volatile.Read(ref _closed) != 0)
        {
            Drop(Shutdown, 1);
        }
        else
        {
            Drop(QueueFull, 1);
            if (_fullReports.TryReport(out long count))
            {
                WebhookMessages.QueueFull(_logger, _settings.Name, _settings.MaxQueue, count);
            }
        }
    }

    /// <summary>Stops accepting events and posts what is queued for up to FlushTimeout; then cancels the request or
    /// backoff in progress and drops (and counts) the rest.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _channel.Writer.TryComplete();
        try
        {
            await _sender.WaitAsync(_settings.FlushTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _sender.ConfigureAwait(false);
        }

        long left = 0;
        while (_channel.Reader.TryRead(out _))
        {
            left++;
        }

        Drop(Shutdown, left);
        if (Interlocked.Read(ref _droppedShutdown) is > 0 and var dropped)
        {
            WebhookMessages.DroppedAtShutdown(_logger, _settings.Name, dropped);
        }

        _metrics.Unregister(this);
        _stop.Dispose();
    }

    // Types past 31 (none yet) would all share the top bit: sent whenever any of them is configured.
    private static uint Bit(DeliveryEventType type) => 1u << Math.Min((int)type, 31);

    /// <summary>/health: a reason while the sender has failed and not yet restarted.</summary>
    public void AddProblems(List<string> problems) => _loop.AddProblems(problems);

    // The sender, run (and restarted after a bug) by _loop; the batch in hand when it throws is lost, the events after
    // it are sent by the restarted sender.
    private async Task RunAsync(SupervisedLoop loop)
    {
        ChannelReader<DeliveryEvent> reader = _channel.Reader;
        var batch = new List<DeliveryEvent>(_settings.BatchSize);
        var body = new ArrayBufferWriter<byte>(16 * 1024);
        var element = new ArrayBufferWriter<byte>(1024);
        using var elementJson = new Utf8JsonWriter(element);
        using var bodyJson = new Utf8JsonWriter(body, JsonOptions);
        try
        {
            while (true)
            {
                loop.Progress(); // everything read so far is handled: healthy (again)
                if (!await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
                {
                    break;
                }

                await FillAsync(reader, batch).ConfigureAwait(false);
                int events = Serialize(batch, body, bodyJson, element, elementJson);
                batch.Clear();
                if (events > 0)
                {
                    await PostAsync(body.WrittenMemory, events).ConfigureAwait(false);
                }

                body.ResetWrittenCount();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            Drop(Shutdown, batch.Count);
        }
    }

    // Takes up to BatchSize events: at once when they are there, else waiting for more until Linger has passed since
    // the first. Returns early when the channel is completed (shutdown: no point lingering).
    private async ValueTask FillAsync(ChannelReader<DeliveryEvent> reader, List<DeliveryEvent> batch)
    {
        long deadline = Environment.TickCount64 + (long)_settings.Linger.TotalMilliseconds;
        while (true)
        {
            while (batch.Count < _settings.BatchSize && reader.TryRead(out DeliveryEvent? e))
            {
                batch.Add(e);
            }

            long remaining = deadline - Environment.TickCount64;
            if (batch.Count >= _settings.BatchSize || remaining <= 0)
            {
                return;
            }

            using var linger = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            linger.CancelAfter(TimerSpan.FromMilliseconds(remaining));
            try
            {
                if (!await reader.WaitToReadAsync(linger.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private int Serialize(List<DeliveryEvent> batch, ArrayBufferWriter<byte> body, Utf8JsonWriter bodyJson,
        ArrayBufferWriter<byte> element, Utf8JsonWriter elementJson)
    {
        bodyJson.Reset(body);
        bodyJson.WriteStartArray();
        int events = 0;
        foreach (DeliveryEvent e in batch)
        {
            element.ResetWrittenCount();
            elementJson.Reset(element);
            try
            {
                DeliveryEventJson.Write(elementJson, e);
                elementJson.Flush();
            }
            catch (ArgumentException ex)
            {
                // Utf8JsonWriter refuses invalid UTF-16 (a lone surrogate); one bad event must not sink the batch.
                WebhookMessages.SerializeFailed(_logger, ex, _settings.Name, e.MessageId);
                continue;
            }

            bodyJson.WriteRawValue(element.WrittenSpan, skipInputValidation: true);
            events++;
        }

        bodyJson.WriteEndArray();
        bodyJson.Flush();
        return events;
    }

    private async Task PostAsync(ReadOnlyMemory<byte> body, int events)
    {
        for (int attempt = 1; ; attempt++)
        {
            long started = Stopwatch.GetTimestamp();
            Outcome outcome = await SendAsync(body).ConfigureAwait(false);
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            switch (outcome.Result)
            {
                case Result.Ok:
                    Interlocked.Increment(ref _batchesOk);
                    Interlocked.Add(ref _posted, events);
                    _metrics.Batch(_settings.Name, "ok", seconds);
                    _metrics.Posted(_settings.Name, events);
                    return;

                case Result.Rejected:
                    Interlocked.Increment(ref _batchesFailed);
                    _metrics.Batch(_settings.Name, "failed", seconds);
                    Drop(Rejected, events);
                    if (_rejectReports.TryReport(out long rejections))
                    {
                        WebhookMessages.Rejected(_logger, _settings.Name, outcome.Status, events, rejections);
                    }

                    return;

                case Result.Shutdown:
                    Drop(Shutdown, events);
                    return;
            }

            Interlocked.Increment(ref _batchesRetried);
            _metrics.Batch(_settings.Name, "retry", seconds);
            TimeSpan delay = Backoff(attempt, outcome.RetryAfter);
            if (_retryReports.TryReport(out long failures))
            {
                WebhookMessages.Retrying(_logger, _settings.Name, outcome.Reason, delay.TotalMilliseconds, failures);
            }

            try
            {
                await Task.Delay(TimerSpan.Clamp(delay), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Drop(Shutdown, events);
                return;
            }
        }
    }

    private async Task<Outcome> SendAsync(ReadOnlyMemory<byte> body)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimerSpan.Clamp(_settings.Timeout));
        using var request = new HttpRequestMessage(HttpMethod.Post, _settings.Url) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (_settings.Authorization is { } authorization)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        try
        {
            // Headers only: the receiver's body is of no interest (disposing drains a little of it for reuse).
            using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token)
                .ConfigureAwait(false);
            int status = (int)response.StatusCode;
            return status switch
            {
                >= 200 and < 300 => new Outcome(Result.Ok, status),
                408 or 429 or >= 500 => new Outcome(Result.Retry, status, $"HTTP {status}", RetryAfter(response.Headers.RetryAfter)),
                _ => new Outcome(Result.Rejected, status),
            };
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return new Outcome(Result.Shutdown, 0);
        }
        catch (OperationCanceledException)
        {
            return new Outcome(Result.Retry, 0, $"no response within {_settings.Timeout}");
        }
        catch (HttpRequestException ex)
        {
            return new Outcome(Result.Retry, 0, ex.Message);
        }
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header) =>
        header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);

    // Exponential with "equal jitter": half the step fixed, half random, so a fleet of MTAs does not retry in step.
    private TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        double maxMs = _settings.MaxBackoff.TotalMilliseconds;
        if (retryAfter is { } after)
        {
            return TimeSpan.FromMilliseconds(Math.Clamp(after.TotalMilliseconds, 0, maxMs));
        }

        double step = Math.Min(maxMs, _settings.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30)));
        return TimeSpan.FromMilliseconds(step / 2 + Random.Shared.NextDouble() * step / 2);
    }

    private void Drop(string reason, long events)
    {
        if (events <= 0)
        {
            return;
        }

        if (reason == QueueFull)
        {
            Interlocked.Add(ref _droppedFull, events);
        }
        else if (reason == Rejected)
        {
            Interlocked.Add(ref _droppedRejected, events);
        }
        else
        {
            Interlocked.Add(ref _droppedShutdown, events);
        }

        _metrics.Dropped(_settings.Name, reason, events);
    }

    private enum Result
    {
        Ok,
        Retry,
        Rejected,
        Shutdown,
    }

    private readonly record struct Outcome(Result Result, int Status, string Reason = "", TimeSpan? RetryAfter = null);
}
