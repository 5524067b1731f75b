using System.Buffers;
using System.Diagnostics.Metrics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace FastMta.Queue;

/// <summary>
/// The delivery log: one JSON object per line ("\n"-terminated) per event, appended to a file. <see cref="Publish"/>
/// only enqueues into a bounded channel; one background task serializes and writes. Lines reach the file (the OS,
/// not necessarily the platter: this is a log, not the spool) as soon as the queue runs dry, and at least every
/// second or 64 KiB under load, so <c>tail -f</c> sees events within milliseconds. Only whole lines are handed to
/// the OS. When the disk cannot keep up, events are dropped and counted rather than slowing delivery; when it fails,
/// the error is logged and counted and writing goes on with the next batch. A bug in the writer restarts it after a
/// backoff (<see cref="SupervisedLoop"/>: logged, counted, in /health meanwhile). Does not rotate the file.
/// </summary>
public sealed class DeliveryLog : IDeliveryEventSink, IAsyncDisposable
{
    public const int DefaultCapacity = 65_536;

    private const int BatchBytes = 64 * 1024;
    private const long MaxBatchAgeMs = 1000;
    private static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);
    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // A log file, never HTML: keep '<', '>', '+' and non-ASCII readable for grep; control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Channel<DeliveryEvent> _channel;
    private readonly Stream _stream;
    private readonly ILogger _logger;
    private readonly DeliveryLogMetrics _metrics;
    private readonly int _capacity;
    private readonly ReportThrottle _dropReports = new(ReportInterval);
    private readonly ReportThrottle _errorReports = new(ReportInterval);
    private readonly Task _writer;
    private readonly SupervisedLoop _loop;
    private readonly CancellationTokenSource _closing = new(); // cuts a restart's backoff short at disposal
    private long _written;
    private long _dropped;
    private long _writeErrors;
    private int _disposed;

    /// <summary>Opens (creating its directory) <paramref name="path"/> for append and starts the writer.</summary>
    public DeliveryLog(string path, ILogger logger, IMeterFactory meters)
        : this(Open(path), logger, DefaultCapacity, new DeliveryLogMetrics(meters))
    {
        DeliveryLogMessages.Opened(logger, Path.GetFullPath(path));
    }

    /// <summary>Writes to <paramref name="stream"/> (the file from <see cref="Open"/>, or a stream over it) and starts
    /// the writer; the log disposes the stream.</summary>
    public DeliveryLog(Stream stream, ILogger logger, IMeterFactory meters)
        : this(stream, logger, DefaultCapacity, new DeliveryLogMetrics(meters))
    {
    }

    internal DeliveryLog(Stream stream, ILogger logger, int capacity, DeliveryLogMetrics metrics)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _stream = stream;
        _logger = logger;
        _metrics = metrics;
        _capacity = capacity;
        _channel = Channel.CreateBounded<DeliveryEvent>(new BoundedChannelOptions(capacity)
        {
            // Wait mode, but only TryWrite is ever called: a full channel answers false at once and the event is counted.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _loop = new SupervisedLoop("delivery_log", "delivery log writer", (loop, _) => RunAsync(loop), logger, metrics.Loops);
        _writer = Task.Run(() => _loop.RunAsync(_closing.Token));
    }

    /// <summary>Events handed to the file.</summary>
    public long EventsWritten => Interlocked.Read(ref _written);

    /// <summary>Events dropped because the queue was full or the log closed.</summary>
    public long EventsDropped => Interlocked.Read(ref _dropped);

    /// <summary>Failed writes (each loses the events of one batch).</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    /// <summary>Never blocks and never throws; drops (and counts) the event when the queue is full or closed.</summary>
    public void Publish(DeliveryEvent deliveryEvent)
    {
        if (_channel.Writer.TryWrite(deliveryEvent))
        {
            return;
        }

        Interlocked.Increment(ref _dropped);
        _metrics.Dropped();
        if (_dropReports.TryReport(out var count))
        {
            DeliveryLogMessages.EventsDropped(_logger, count, _capacity);
        }
    }

    /// <summary>Stops accepting events, writes every queued one, and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _channel.Writer.TryComplete();
        _closing.Cancel(); // a writer waiting to restart gives up (its queued events are lost); a running one drains
        await _writer.ConfigureAwait(false);
        _closing.Dispose();
        try
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            RecordWriteError(ex, 0);
        }
    }

    /// <summary>The delivery log file at <paramref name="path"/>, opened for append (its directory created).</summary>
    public static FileStream Open(string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // No FileStream buffer (bufferSize 0): the writer batches whole lines itself, so the OS only ever gets whole
        // lines. FileShare.Read lets tail and log shippers read while we write.
        return new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);
    }

    /// <summary>/health: a reason while the writer has failed and not yet written again.</summary>
    public void AddProblems(List<string> problems) => _loop.AddProblems(problems);

    // The writer, run (and restarted after a failure) by _loop. The batch in hand when it fails is lost; the event
    // that made it fail was already taken from the queue, so a restart does not meet it again.
    private async Task RunAsync(SupervisedLoop loop)
    {
        var batch = new ArrayBufferWriter<byte>(BatchBytes + 4096);
        var line = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(line, JsonOptions);
        var reader = _channel.Reader;
        var batchStartedMs = Environment.TickCount64;
        var events = 0;
        var afterError = false;
        while (true)
        {
            loop.Progress(); // everything read so far is handled: healthy (again)
            if (!await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                break;
            }

            while (reader.TryRead(out var e))
            {
                if (events == 0)
                {
                    batchStartedMs = Environment.TickCount64;
                    if (afterError)
                    {
                        // A failed write may have left part of a line in the file: end it, so the next line starts clean.
                        batch.Write("\n"u8);
                    }
                }

                if (Serialize(json, line, e))
                {
                    batch.Write(line.WrittenSpan);
                    events++;
                }

                if (batch.WrittenCount >= BatchBytes || Environment.TickCount64 - batchStartedMs >= MaxBatchAgeMs)
                {
                    afterError = !await WriteAsync(batch, events).ConfigureAwait(false);
                    events = 0;
                }
            }

            // The queue ran dry: hand over what we have so readers see it now.
            if (events > 0)
            {
                afterError = !await WriteAsync(batch, events).ConfigureAwait(false);
                events = 0;
            }
        }
    }

    private bool Serialize(Utf8JsonWriter json, ArrayBufferWriter<byte> line, DeliveryEvent e)
    {
        line.ResetWrittenCount();
        json.Reset(line);
        try
        {
            DeliveryEventJson.Write(json, e);
            json.Flush();
            line.Write("\n"u8);
            return true;
        }
        catch (ArgumentException ex)
        {
            // Utf8JsonWriter refuses invalid UTF-16 (a lone surrogate); one bad event must not stop the log.
            DeliveryLogMessages.SerializeFailed(_logger, ex, e.MessageId);
            return false;
        }
    }

    private async ValueTask<bool> WriteAsync(ArrayBufferWriter<byte> batch, int events)
    {
        try
        {
            await _stream.WriteAsync(batch.WrittenMemory).ConfigureAwait(false);
            await _stream.FlushAsync().ConfigureAwait(false);
            Interlocked.Add(ref _written, events);
            _metrics.Written(events);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            RecordWriteError(ex, events);
            return false;
        }
        finally
        {
            batch.ResetWrittenCount();
        }
    }

    private void RecordWriteError(Exception ex, int events)
    {
        Interlocked.Increment(ref _writeErrors);
        _metrics.WriteFailed();
        if (_errorReports.TryReport(out var errors))
        {
            DeliveryLogMessages.WriteFailed(_logger, ex, events, errors);
        }
    }
}
