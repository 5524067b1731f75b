using System.Text;
using BenchmarkDotNet.Attributes;
using FastMta.Queue;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Benchmarks.Queue;

/// <summary>
/// One operation is one scheduling decision of the queue manager: a due message's recipients grouped by domain into
/// transactions on their destinations' ready queues, and the next transaction taken round-robin (with Shaping: admitted
/// by the traffic shaper too). Each round takes every ready transaction and hands it back unstarted, so the same
/// messages come due again: the steady state of a busy queue, without the delivery's I/O. The queue is paused so only
/// the benchmark thread plans. Allocated must be 0 (SchedulingAllocationTests in the Queue tests checks the same in CI).
/// Messages: queued messages of Recipients recipients each, over 1,000 domains.
/// </summary>
[MemoryDiagnoser]
public class SchedulingBenchmarks
{
    private const int Messages = 1_000;

    private string _directory = string.Empty;
    private MessageSpool _spool = null!;
    private QueueManager _queue = null!;
    private TrafficShaper? _shaper;
    private (DeliveryWork Work, AttemptSlot Slot)[] _taken = [];
    private int _decisionsPerRound;

    [Params(1, 10)]
    public int Recipients { get; set; }

    [Params(false, true)]
    public bool Shaping { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "fastmta-queue-bench", Guid.NewGuid().ToString("N"));
        _spool = await MessageSpool.OpenAsync(new SpoolOptions { Path = _directory }, NullLogger.Instance);
        var options = new QueueOptions { Paused = true, MaxConcurrencyPerDestination = int.MaxValue, MaintenanceInterval = TimeSpan.FromHours(1) };
        if (Shaping)
        {
            var shaping = new ShapingOptions();
            shaping.DefaultRule.MessagesPerSecond = 100_000_000;
            shaping.DefaultRule.MaxConnections = 1_000_000;
            _shaper = new TrafficShaper(shaping);
        }

        _queue = new QueueManager(_spool, new NoAgent(), new NoEvents(), options, NullLogger<QueueManager>.Instance, null, _shaper,
            _shaper is null ? null : new SelfSites());
        await _queue.StartAsync(CancellationToken.None);
        byte[] body = Encoding.ASCII.GetBytes("Subject: bench\r\n\r\n" + new string('x', 1000) + "\r\n");
        for (int m = 0; m < Messages; m++)
        {
            using MessageWriter writer = _spool.CreateWriter();
            writer.SetSender("bulk@sender.example"u8, []);
            for (int r = 0; r < Recipients; r++)
            {
                writer.AddRecipient(Encoding.ASCII.GetBytes($"user{m}.{r}@d{(m + (r * 7)) % 1000}.example"), []);
            }

            writer.SetOrigin("192.0.2.1", "client.example", null, "ESMTP");
            body.CopyTo(writer.GetSpan(body.Length));
            writer.Advance(body.Length);
            await writer.CommitAsync(CancellationToken.None);
        }

        _taken = new (DeliveryWork, AttemptSlot)[Messages * Recipients];
        _decisionsPerRound = Round();
        Round(); // pools and buffers at their steady size
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _queue.DisposeAsync();
        _shaper?.Dispose();
        await _spool.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>One round: every due message planned and every transaction taken, then all handed back.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public int Decide() => Round();

    private int Round()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        int n = 0;
        while (_queue.DecideNext(now, out AttemptSlot slot) is { } work)
        {
            _taken[n++] = (work, slot);
        }

        for (int i = 0; i < n; i++)
        {
            _queue.ReturnUnstarted(_taken[i].Work, _taken[i].Slot);
        }

        return n;
    }

    private sealed class NoAgent : IDeliveryAgent
    {
        public Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the benchmark queue is paused: nothing is delivered");
    }

    private sealed class NoEvents : IDeliveryEventSink
    {
        public void Publish(DeliveryEvent deliveryEvent)
        {
        }
    }

    private sealed class SelfSites : ISiteResolver
    {
        public ValueTask<string> GetSiteAsync(string domain, CancellationToken cancellationToken) => ValueTask.FromResult(domain);
    }
}
