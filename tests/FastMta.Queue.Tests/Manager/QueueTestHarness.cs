using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using FastMta.Shaping;
using FastMta.Spool;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Queue.Tests.Manager;

/// <summary>
/// A real spool in a temp directory with a real QueueManager over it. The delivery agent is scripted: the queue's
/// contract with the outbound side is the IDeliveryAgent interface, and these tests are about the queue's decisions
/// (the real agent is tested against real SMTP servers in the Outbound and EndToEnd tests).
/// </summary>
internal sealed class QueueTestHarness : IAsyncDisposable
{
    private MessageSpool? _spool;
    private QueueManager? _queue;
    private IMeterFactory? _meters; // the running queue's meter factory, as the server's host supplies it

    /// <summary>Test defaults: 200 ms retries, no background maintenance (tests call ReclaimAsync). Change
    /// <see cref="Options"/> before <see cref="StartAsync"/>.</summary>
    public QueueTestHarness(Func<DeliveryRequest, CancellationToken, Task<DeliveryResult>> deliver)
    {
        Agent = new ScriptedAgent(deliver);
        Options = new QueueOptions
        {
            RetrySchedule = [TimeSpan.FromMilliseconds(200)],
            MaintenanceInterval = TimeSpan.FromHours(1),
            ReportingMta = "mta.example.test",
        };
        SpoolOptions = new SpoolOptions
        {
            Path = Path.Combine(Path.GetTempPath(), "fastmta-queue-tests", Guid.NewGuid().ToString("N")),
            ChunkSize = 16 * 1024,
            PageSizeBits = 20,
            MemorySizeBits = 23,
            SegmentSizeBits = 22,
            CommitTimeout = TimeSpan.FromSeconds(30),
        };
    }

    public ScriptedAgent Agent { get; }

    public RecordingSink Events { get; } = new();

    public QueueOptions Options { get; }

    public SpoolOptions SpoolOptions { get; }

    /// <summary>Set before <see cref="StartAsync"/> to shape traffic; sites come from <see cref="Sites"/>. Null: the
    /// default shaping configuration (one default source and pool, the default rule), which leaves the queue's own
    /// limits in charge, as in a server without shaping settings.</summary>
    public ShapingOptions? Shaping { get; set; }

    /// <summary>The clock of the queue and the shaper; set before <see cref="StartAsync"/> (e.g. a FakeTimeProvider).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Observers told about every attempt, after the shaping settlement the server registers too.</summary>
    public List<IAttemptObserver> Observers { get; } = [];

    /// <summary>Domain to site (MX set) for shaping; an unknown domain is its own site.</summary>
    public Dictionary<string, string> Sites { get; } = new(StringComparer.OrdinalIgnoreCase);

    public TrafficShaper? Shaper { get; private set; }

    public MessageSpool Spool => _spool ?? throw new InvalidOperationException("not started");

    public QueueManager Queue => _queue ?? throw new InvalidOperationException("not started");

    public async Task StartAsync()
    {
        _spool = await MessageSpool.OpenAsync(SpoolOptions, NullLogger.Instance, TestMeters.Create());
        _meters = TestMeters.Create();
        Shaper ??= new TrafficShaper(Shaping ?? new ShapingOptions(), TestMeters.Create(), Time);
        _queue = new QueueManager(Options, new QueueDependencies
        {
            Spool = _spool,
            Agent = Agent,
            Events = Events,
            Shaper = Shaper,
            Sites = new TableSites(Sites),
            Observers = [new ShapingSettlement(Shaper), .. Observers],
            Logger = NullLogger<QueueManager>.Instance,
            Meters = _meters,
            Time = Time,
        });
        await _queue.StartAsync(CancellationToken.None);
    }

    /// <summary>Stops the queue (cancelling attempts after <paramref name="grace"/>) and closes the spool.</summary>
    public async Task StopAsync(TimeSpan grace = default)
    {
        if (_queue is not null)
        {
            await _queue.StopAsync(grace);
            await _queue.DisposeAsync();
            _queue = null;
        }

        if (_meters is not null)
        {
            _meters.Dispose(); // disposes the queue's Meter with the factory
            _meters = null;
        }

        if (_spool is not null)
        {
            await _spool.DisposeAsync();
            _spool = null;
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    public async Task<SpoolMessageId> SendAsync(string sender, params string[] recipients) =>
        await SendAsync(sender, recipients, Encoding.ASCII.GetBytes("Subject: test\r\nMessage-ID: <m@example.test>\r\n\r\nhello\r\n"));

    public async Task<SpoolMessageId> SendAsync(string sender, string[] recipients, byte[] body, string senderParameters = "", string? pool = null)
    {
        using MessageWriter writer = Spool.CreateWriter();
        writer.SetPool(pool);
        writer.SetSender(Encoding.UTF8.GetBytes(sender), Encoding.ASCII.GetBytes(senderParameters));
        foreach (string recipient in recipients)
        {
            writer.AddRecipient(Encoding.UTF8.GetBytes(recipient), []);
        }

        writer.SetOrigin("192.0.2.1", "client.example.test", null, "ESMTP");
        for (int offset = 0; offset < body.Length; offset += 4096)
        {
            int n = Math.Min(4096, body.Length - offset);
            body.AsSpan(offset, n).CopyTo(writer.GetSpan(n));
            writer.Advance(n);
            await writer.FlushAsync(CancellationToken.None);
        }

        await writer.CommitAsync(CancellationToken.None);
        return writer.Id;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(SpoolOptions.Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    public static DeliveryResult All(DeliveryRequest request, RecipientOutcome outcome, int code, string status, string text = "ok") =>
        new()
        {
            Recipients = request.Recipients.Select(_ => new RecipientResult(outcome, code, status, text)).ToArray(),
            RemoteHost = "mx." + request.Domain,
            RemoteAddress = "127.0.0.1:25",
            SourceAddress = "127.0.0.1",
        };

    public static Task<DeliveryResult> Deliver(DeliveryRequest request) => Task.FromResult(All(request, RecipientOutcome.Delivered, 250, "2.0.0"));

    /// <summary>Polls a condition the queue reaches asynchronously, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>Sites from a table the test fills in (the DNS-backed resolver is tested with a real DNS server in Outbound).</summary>
internal sealed class TableSites(Dictionary<string, string> sites) : ISiteResolver
{
    public ValueTask<string> GetSiteAsync(string domain, CancellationToken cancellationToken) =>
        ValueTask.FromResult(sites.TryGetValue(domain, out string? site) ? site : domain);
}

/// <summary>Records every request (with a copy of its body) and answers with the script.</summary>
internal sealed class ScriptedAgent(Func<DeliveryRequest, CancellationToken, Task<DeliveryResult>> deliver) : IDeliveryAgent
{
    public ConcurrentQueue<Attempt> Attempts { get; } = new();

    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        byte[] body = await request.Body.ReadPrefixAsync(int.MaxValue, cancellationToken);
        Attempts.Enqueue(new Attempt(request.MessageId, request.Domain, request.Sender, [.. request.Recipients], body,
            request.RequiresSmtpUtf8, request.EightBitMime, request.SourceAddress?.ToString(), request.EhloName, DateTime.UtcNow));
        return await deliver(request, cancellationToken);
    }

    public sealed record Attempt(SpoolMessageId MessageId, string Domain, string Sender, string[] Recipients, byte[] Body, bool RequiresSmtpUtf8,
        bool EightBitMime, string? SourceAddress, string? EhloName, DateTime StartedAt);
}

internal sealed class RecordingSink : IDeliveryEventSink
{
    public ConcurrentQueue<DeliveryEvent> Events { get; } = new();

    public void Publish(DeliveryEvent deliveryEvent) => Events.Enqueue(deliveryEvent);

    public int Count(DeliveryEventType type) => Events.Count(e => e.Type == type);
}
