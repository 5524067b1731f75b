using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Queue.Tests.Events;

public sealed class DeliveryLogTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 34, 56, 789, TimeSpan.FromHours(2));
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmta-deliverylog-" + Guid.NewGuid().ToString("N"));
    // A factory of this test's own, so that parallel tests do not see each other's measurements.
    private readonly IMeterFactory _meters = TestMeters.Create();
    private readonly DeliveryLogMetrics _metrics;

    public DeliveryLogTests() => _metrics = new DeliveryLogMetrics(_meters);

    public void Dispose()
    {
        _meters.Dispose();
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static DeliveryEvent Delivery(int i, DeliveryEventType type = DeliveryEventType.Delivery) => new()
    {
        Type = type,
        Timestamp = T0.AddSeconds(i),
        MessageId = $"0000019A2B3C{i:X4}",
        Sender = "alice@example.org",
        Recipient = $"bob{i}@example.com",
        Domain = "example.com",
        Site = "mx.example.com",
        RemoteHost = "mx1.example.com",
        RemoteAddress = "192.0.2.25:25",
        SourceAddress = "198.51.100.7",
        ReplyCode = 250,
        EnhancedStatus = "2.0.0",
        Response = "Ok <queued> as 1234",
        Attempt = 1,
        Size = 2048,
        QueueTime = 1.23456,
        Duration = 0.5,
    };

    private static List<JsonElement> ReadLines(byte[] data)
    {
        var text = Encoding.UTF8.GetString(data);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return [.. text.Split('\n').Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    [Fact]
    public async Task EventsAreWrittenAsOneCamelCaseJsonObjectPerLine()
    {
        var path = Path.Combine(_dir, "nested", "delivery.jsonl");
        await using (var log = new DeliveryLog(path, NullLogger.Instance, _meters))
        {
            log.Publish(new DeliveryEvent
            {
                Type = DeliveryEventType.Reception,
                Timestamp = T0,
                MessageId = "0000019A2B3C4D5E",
                Sender = "",
                RecipientCount = 3,
                ClientAddress = "203.0.113.9",
                Size = 4096,
            });
            log.Publish(Delivery(1));
        }

        var lines = ReadLines(File.ReadAllBytes(path));
        Assert.Equal(2, lines.Count);

        var reception = lines[0];
        Assert.Equal(
            ["type", "timestamp", "messageId", "sender", "recipientCount", "clientAddress", "attempt", "size", "queueTime", "duration"],
            reception.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Reception", reception.GetProperty("type").GetString());
        Assert.Equal("2025-03-01T10:34:56.789Z", reception.GetProperty("timestamp").GetString());
        Assert.Equal("", reception.GetProperty("sender").GetString());
        Assert.Equal(3, reception.GetProperty("recipientCount").GetInt32());

        var delivery = lines[1];
        Assert.Equal(
            ["type", "timestamp", "messageId", "sender", "recipient", "domain", "site", "remoteHost", "remoteAddress", "sourceAddress",
             "replyCode", "enhancedStatus", "response", "attempt", "size", "queueTime", "duration"],
            delivery.EnumerateObject().Select(p => p.Name));
        Assert.Equal("Delivery", delivery.GetProperty("type").GetString());
        Assert.Equal("bob1@example.com", delivery.GetProperty("recipient").GetString());
        Assert.Equal(250, delivery.GetProperty("replyCode").GetInt32());
        Assert.Equal("Ok <queued> as 1234", delivery.GetProperty("response").GetString());
        Assert.Equal(1.235, delivery.GetProperty("queueTime").GetDouble());
        Assert.Equal(2048, delivery.GetProperty("size").GetInt64());
        // Relaxed escaping: the reply text stays greppable.
        Assert.Contains("\"Ok <queued> as 1234\"", File.ReadAllText(path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAttemptsShapingIdentityIsWrittenAfterTheDomain()
    {
        var path = Path.Combine(_dir, "delivery.jsonl");
        await using (var log = new DeliveryLog(path, NullLogger.Instance, _meters))
        {
            DeliveryEvent delivery = Delivery(1);
            log.Publish(new DeliveryEvent
            {
                Type = delivery.Type,
                Timestamp = delivery.Timestamp,
                MessageId = delivery.MessageId,
                Sender = delivery.Sender,
                Recipient = delivery.Recipient,
                Domain = delivery.Domain,
                Pool = "bulk",
                Source = "ip2",
                Rule = "bigmail",
                Site = delivery.Site,
                Attempt = 1,
            });
        }

        JsonElement line = Assert.Single(ReadLines(File.ReadAllBytes(path)));
        Assert.Equal(
            ["type", "timestamp", "messageId", "sender", "recipient", "domain", "pool", "source", "rule", "site", "attempt", "size", "queueTime", "duration"],
            line.EnumerateObject().Select(p => p.Name));
        Assert.Equal(("bulk", "ip2", "bigmail", "mx.example.com"),
            (line.GetProperty("pool").GetString(), line.GetProperty("source").GetString(), line.GetProperty("rule").GetString(), line.GetProperty("site").GetString()));
    }

    [Fact]
    public async Task AReopenedLogAppends()
    {
        var path = Path.Combine(_dir, "delivery.jsonl");
        await using (var log = new DeliveryLog(path, NullLogger.Instance, _meters))
        {
            log.Publish(Delivery(1));
        }

        await using (var log = new DeliveryLog(path, NullLogger.Instance, _meters))
        {
            log.Publish(Delivery(2));
        }

        Assert.Equal(["bob1@example.com", "bob2@example.com"],
            ReadLines(File.ReadAllBytes(path)).Select(l => l.GetProperty("recipient").GetString()));
    }

    [Fact]
    public async Task LinesAppearBeforeDisposeOnceTheQueueRunsDry()
    {
        var path = Path.Combine(_dir, "delivery.jsonl");
        await using var log = new DeliveryLog(path, NullLogger.Instance, _meters);
        log.Publish(Delivery(1));

        // Bounded wait for the writer: the assertion is that the line arrives without Dispose, not how fast.
        for (var i = 0; i < 500 && log.EventsWritten == 0; i++)
        {
            await Task.Delay(10);
        }

        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var text = new StreamReader(reader);
        var line = await text.ReadLineAsync();
        Assert.NotNull(line);
        Assert.Equal("bob1@example.com", JsonDocument.Parse(line).RootElement.GetProperty("recipient").GetString());
    }

    [Fact]
    public async Task ConcurrentPublishersProduceWholeLinesInPerPublisherOrder()
    {
        var stream = new ControlledStream();
        const int publishers = 8, perPublisher = 2_000;
        var log = new DeliveryLog(stream, NullLogger.Instance, publishers * perPublisher, _metrics);
        await Task.WhenAll(Enumerable.Range(0, publishers).Select(p => Task.Run(() =>
        {
            for (var i = 0; i < perPublisher; i++)
            {
                log.Publish(new DeliveryEvent
                {
                    Type = DeliveryEventType.TransientFailure,
                    Timestamp = T0,
                    MessageId = $"p{p}",
                    Sender = "alice@example.org",
                    Recipient = $"r{i}",
                    // Lines of varying length, so batches end at every possible offset within a line.
                    Response = "451 4.7.1 " + new string('x', i % 300),
                });
            }
        })));
        await log.DisposeAsync();

        var lines = ReadLines(stream.Written);
        Assert.Equal(publishers * perPublisher, lines.Count);
        Assert.Equal(publishers * perPublisher, log.EventsWritten);
        Assert.Equal(0, log.EventsDropped);
        foreach (var group in lines.GroupBy(l => l.GetProperty("messageId").GetString()))
        {
            Assert.Equal(Enumerable.Range(0, perPublisher).Select(i => $"r{i}"), group.Select(l => l.GetProperty("recipient").GetString()));
        }
    }

    [Fact]
    public async Task AFullQueueDropsAndCountsWithoutBlocking()
    {
        var measured = new Dictionary<string, long>();
        using var listener = Listen(measured);
        var stream = new ControlledStream(open: false);
        var log = new DeliveryLog(stream, NullLogger.Instance, capacity: 4, _metrics);

        log.Publish(Delivery(0));
        await stream.FirstWriteStarted.WaitAsync(TimeSpan.FromSeconds(30));
        // The writer holds event 0 in a stalled write; the queue takes 4 more and the rest are dropped.
        for (var i = 1; i <= 10; i++)
        {
            log.Publish(Delivery(i));
        }

        Assert.Equal(6, log.EventsDropped);
        stream.Open();
        await log.DisposeAsync();

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"bob{i}@example.com"),
            ReadLines(stream.Written).Select(l => l.GetProperty("recipient").GetString()));
        Assert.Equal(5, log.EventsWritten);
        Assert.Equal(6, measured["fastmta.deliverylog.events.dropped"]);
        Assert.Equal(5, measured["fastmta.deliverylog.events.written"]);

        log.Publish(Delivery(11));
        Assert.Equal(7, log.EventsDropped);
    }

    [Fact]
    public async Task DisposeDrainsEverythingQueued()
    {
        var stream = new ControlledStream(open: false);
        var log = new DeliveryLog(stream, NullLogger.Instance, capacity: 1_000, _metrics);
        for (var i = 0; i < 1_000; i++)
        {
            log.Publish(Delivery(i));
        }

        var disposing = log.DisposeAsync();
        stream.Open();
        await disposing;

        Assert.Equal(1_000, ReadLines(stream.Written).Count);
        Assert.Equal(0, log.EventsDropped);
    }

    [Fact]
    public async Task AFailedWriteIsCountedAndLaterEventsStillArriveOnWholeLines()
    {
        var measured = new Dictionary<string, long>();
        using var listener = Listen(measured);
        var stream = new ControlledStream(open: false) { FailNextWrites = 1 };
        var log = new DeliveryLog(stream, NullLogger.Instance, capacity: 16, _metrics);

        log.Publish(Delivery(0));
        await stream.FirstWriteStarted.WaitAsync(TimeSpan.FromSeconds(30));
        log.Publish(Delivery(1));
        stream.Open();
        await log.DisposeAsync();

        Assert.Equal(1, log.WriteErrors);
        Assert.Equal(1, measured["fastmta.deliverylog.write.errors"]);
        // The failed write left half a line; the next batch ends it first, so every other line is whole JSON.
        var lines = Encoding.UTF8.GetString(stream.Written).Split('\n');
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(lines[0]));
        Assert.Equal("bob1@example.com", JsonDocument.Parse(lines[1]).RootElement.GetProperty("recipient").GetString());
        Assert.Equal(1, log.EventsWritten);
    }

    private MeterListener Listen(Dictionary<string, long> measured)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, _metrics.Meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (measured)
            {
                measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + value;
            }
        });
        listener.Start();
        return listener;
    }
}
