using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Queue;
using FastMta.Server;
using FastMta.Server.Webhooks;
using FastMta.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Event webhooks over real HTTP on loopback: the publisher in-process against a Kestrel receiver started by the test,
// and one run through a real server process that relays a message and posts its events.
public sealed class WebhookTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static DeliveryEvent Event(int n, DeliveryEventType type = DeliveryEventType.Delivery) => new()
    {
        Type = type,
        Timestamp = new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero),
        MessageId = $"M{n:D6}",
        Sender = "alice@sender.test",
        Recipient = type == DeliveryEventType.Reception ? null : $"bob{n}@dest.test",
        Domain = type == DeliveryEventType.Reception ? null : "dest.test",
        ReplyCode = 250,
        EnhancedStatus = "2.0.0",
        Response = "250 2.0.0 <ok> \"quoted\" Grüße",
        Attempt = 1,
        Size = 1234,
    };

    private static WebhookSettings Settings(Uri url, int batchSize = 100, int maxQueue = 100_000, double timeoutSeconds = 5,
        IReadOnlySet<DeliveryEventType>? events = null, string? authorization = null) => new()
    {
        Name = "test",
        Url = url,
        Authorization = authorization,
        BatchSize = batchSize,
        MaxQueue = maxQueue,
        Timeout = TimeSpan.FromSeconds(timeoutSeconds),
        Linger = TimeSpan.FromMilliseconds(100),
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromSeconds(2),
        FlushTimeout = TimeSpan.FromSeconds(1),
        Events = events,
    };

    private static WebhookPublisher Publisher(WebhookSettings settings, WebhookMetrics? metrics = null) =>
        new(settings, NullLogger.Instance, metrics ?? new WebhookMetrics(TestMeters.Create()));

    private static async Task WaitUntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > (timeout ?? Wait))
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }

    private static List<JsonElement> Elements(IEnumerable<ReceivedPost> posts) =>
        [.. posts.SelectMany(p => JsonDocument.Parse(p.Body).RootElement.EnumerateArray())];

    [Fact]
    public async Task Events_arrive_in_batches_as_JSON_arrays_of_delivery_log_objects_with_the_Authorization_header()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using (WebhookPublisher publisher = Publisher(Settings(receiver.Url, batchSize: 100, authorization: "Bearer s3cret")))
        {
            for (int i = 0; i < 250; i++)
            {
                publisher.Publish(Event(i));
            }

            await WaitUntilAsync(() => publisher.EventsPosted == 250, "250 events are posted");
            Assert.Equal(0, publisher.BatchesRetried + publisher.BatchesFailed);
        }

        ReceivedPost[] posts = [.. receiver.Posts];
        Assert.InRange(posts.Length, 3, 250);
        Assert.All(posts, p =>
        {
            Assert.Equal("application/json", p.ContentType);
            Assert.Equal("Bearer s3cret", p.Authorization);
            using JsonDocument doc = JsonDocument.Parse(p.Body);
            Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
            Assert.InRange(doc.RootElement.GetArrayLength(), 1, 100);
        });

        List<JsonElement> events = Elements(posts);
        Assert.Equal(Enumerable.Range(0, 250).Select(i => $"M{i:D6}"), events.Select(e => e.GetProperty("messageId").GetString()));
        JsonElement first = events[0];
        Assert.Equal("Delivery", first.GetProperty("type").GetString());
        Assert.Equal("2025-01-02T03:04:05.678Z", first.GetProperty("timestamp").GetString());
        Assert.Equal("alice@sender.test", first.GetProperty("sender").GetString());
        Assert.Equal("bob0@dest.test", first.GetProperty("recipient").GetString());
        Assert.Equal("dest.test", first.GetProperty("domain").GetString());
        Assert.Equal(250, first.GetProperty("replyCode").GetInt32());
        Assert.Equal("2.0.0", first.GetProperty("enhancedStatus").GetString());
        Assert.Equal("250 2.0.0 <ok> \"quoted\" Grüße", first.GetProperty("response").GetString());
        Assert.Equal(1234, first.GetProperty("size").GetInt64());
        Assert.False(first.TryGetProperty("remoteHost", out _)); // absent values are omitted, as in the delivery log
    }

    [Fact]
    public async Task A_receiver_answering_503_twice_gets_the_same_batch_again_until_it_answers_200()
    {
        await using var receiver = await WebhookReceiver.StartAsync((n, _) => Task.FromResult(n <= 2 ? 503 : 200));
        await using WebhookPublisher publisher = Publisher(Settings(receiver.Url));
        for (int i = 0; i < 3; i++)
        {
            publisher.Publish(Event(i));
        }

        await WaitUntilAsync(() => publisher.BatchesOk == 1, "the batch is accepted");
        Assert.Equal(2, publisher.BatchesRetried);
        Assert.Equal(3, publisher.EventsPosted);
        ReceivedPost[] posts = [.. receiver.Posts];
        Assert.Equal(3, posts.Length);
        Assert.All(posts, p => Assert.Equal(posts[0].Body, p.Body));
        Assert.Equal(3, Elements(posts.Take(1)).Count);
    }

    [Fact]
    public async Task Retry_After_on_a_429_is_honoured()
    {
        await using var receiver = await WebhookReceiver.StartAsync((n, _) => Task.FromResult(n == 1 ? 429 : 200), retryAfterSeconds: 1);
        await using WebhookPublisher publisher = Publisher(Settings(receiver.Url));
        publisher.Publish(Event(1));

        await WaitUntilAsync(() => publisher.BatchesOk == 1, "the batch is accepted");
        ReceivedPost[] posts = [.. receiver.Posts];
        Assert.Equal(2, posts.Length);
        Assert.True(posts[1].At - posts[0].At >= TimeSpan.FromMilliseconds(900), $"retried after {posts[1].At - posts[0].At}");
    }

    [Fact]
    public async Task A_400_drops_the_batch_without_retrying_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => Task.FromResult(400));
        await using WebhookPublisher publisher = Publisher(Settings(receiver.Url));
        for (int i = 0; i < 5; i++)
        {
            publisher.Publish(Event(i));
        }

        await WaitUntilAsync(() => publisher.BatchesFailed == 1, "the batch is rejected");
        await Task.Delay(500); // several backoff steps: nothing is retried
        Assert.Single(receiver.Posts);
        Assert.Equal(5, publisher.EventsDropped(WebhookPublisher.Rejected));
        Assert.Equal(0, publisher.BatchesRetried);

        publisher.Publish(Event(5)); // the next batch is still posted
        await WaitUntilAsync(() => publisher.BatchesFailed == 2, "the next batch is rejected too");
        Assert.Equal(2, receiver.Posts.Count);
        Assert.Equal(6, publisher.EventsDropped(WebhookPublisher.Rejected));
    }

    [Fact]
    public async Task Only_the_configured_event_types_are_sent()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using WebhookPublisher publisher = Publisher(Settings(receiver.Url,
            events: new HashSet<DeliveryEventType> { DeliveryEventType.Bounce, DeliveryEventType.Expiration }));
        int n = 0;
        foreach (DeliveryEventType type in Enum.GetValues<DeliveryEventType>())
        {
            publisher.Publish(Event(n++, type));
        }

        await WaitUntilAsync(() => publisher.EventsPosted == 2, "two events are posted");
        await Task.Delay(300);
        Assert.Equal(["Bounce", "Expiration"], Elements(receiver.Posts).Select(e => e.GetProperty("type").GetString()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_hanging_or_down_receiver_never_blocks_Publish_and_the_overflow_is_counted(bool hang)
    {
        using IMeterFactory meters = TestMeters.Create();
        var metrics = new WebhookMetrics(meters);
        var dropped = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == metrics.Meter && instrument.Name == "fastmta.webhooks.events.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                if (tag.Key == "reason")
                {
                    dropped.AddOrUpdate((string)tag.Value!, value, (_, v) => v + value);
                }
            }
        });
        listener.Start();

        await using var receiver = await WebhookReceiver.StartAsync(async (_, aborted) =>
        {
            await Task.Delay(Timeout.Infinite, aborted); // until the client gives up (its timeout) or the receiver stops
            return 200;
        });
        Uri url = hang ? receiver.Url : new Uri($"http://{LoopbackSmtpSink.UnusedEndPoint(IPAddress.Loopback)}/events");
        WebhookPublisher publisher = Publisher(Settings(url, timeoutSeconds: 0.5), metrics);
        const int Events = 200_000;
        DeliveryEvent e = Event(1);
        var publishing = Stopwatch.StartNew();
        for (int i = 0; i < Events; i++)
        {
            publisher.Publish(e);
        }

        publishing.Stop();
        output.WriteLine($"published {Events} in {publishing.ElapsedMilliseconds} ms");
        Assert.True(publishing.Elapsed < TimeSpan.FromSeconds(5), $"Publish took {publishing.Elapsed}");
        long full = publisher.EventsDropped(WebhookPublisher.QueueFull);
        Assert.InRange(full, Events - 100_000 - 100, Events - 100_000);
        if (hang)
        {
            await WaitUntilAsync(() => receiver.Posts.Count >= 1, "the receiver holds a request");
        }

        var disposing = Stopwatch.StartNew();
        await publisher.DisposeAsync(); // FlushTimeout 1 s, then everything left is dropped
        Assert.True(disposing.Elapsed < TimeSpan.FromSeconds(5), $"DisposeAsync took {disposing.Elapsed}");
        Assert.Equal(0, publisher.EventsPosted);
        Assert.Equal(Events, full + publisher.EventsDropped(WebhookPublisher.Shutdown));
        Assert.Equal(0, publisher.QueueLength);
        publisher.Publish(e); // after dispose: dropped, no exception
        Assert.Equal(Events + 1 - full, publisher.EventsDropped(WebhookPublisher.Shutdown));
        Assert.Equal(full, dropped.GetValueOrDefault(WebhookPublisher.QueueFull));
        Assert.Equal(Events + 1 - full, dropped.GetValueOrDefault(WebhookPublisher.Shutdown));
        Assert.True(publisher.BatchesRetried >= 1);
    }

    [Fact]
    public async Task A_relayed_message_posts_its_Reception_and_Delivery_events_to_the_webhook()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await ServerProcess.StartAsync(
            ["Mta:Delivery:Enabled=true", $"Mta:Routes:*={sink.EndPoint}", $"Mta:Webhooks:test:Url={receiver.Url}"], output: output);

        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<alice@sender.test>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<bob@dest.test>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync(MessageContent.DotStuff(MessageContent.Simple("alice@sender.test", "bob@dest.test", "webhook", "hello\r\n")));
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
        }

        Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        try
        {
            await WaitUntilAsync(() => Elements(receiver.Posts).Any(e => e.GetProperty("type").GetString() == "Delivery"), "the Delivery event is posted");
        }
        catch (TimeoutException ex)
        {
            throw relay.Failure(ex.Message);
        }

        List<JsonElement> events = Elements(receiver.Posts);
        JsonElement reception = Assert.Single(events, e => e.GetProperty("type").GetString() == "Reception");
        Assert.Equal(id, reception.GetProperty("messageId").GetString());
        Assert.Equal(1, reception.GetProperty("recipientCount").GetInt32());
        JsonElement delivery = Assert.Single(events, e => e.GetProperty("type").GetString() == "Delivery");
        Assert.Equal((id, "bob@dest.test", 250), (delivery.GetProperty("messageId").GetString(),
            delivery.GetProperty("recipient").GetString(), delivery.GetProperty("replyCode").GetInt32()));
        Assert.All(receiver.Posts, p => Assert.Equal("application/json", p.ContentType));
    }

    [Fact]
    public void Webhook_settings_are_read_and_validated()
    {
        static MtaSettings Load(params (string Key, string Value)[] values) => ServerConfiguration.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

        WebhookSettings hook = Assert.Single(Load(("Mta:Webhooks:crm:Url", "https://hooks.example/in?token=x"),
            ("Mta:Webhooks:crm:Authorization", "Bearer t"), ("Mta:Webhooks:crm:Events", "Bounce, expiration"),
            ("Mta:Webhooks:crm:BatchSize", "500"), ("Mta:Webhooks:crm:Timeout", "00:00:03")).Webhooks);
        Assert.Equal(("crm", "https://hooks.example/in?token=x", "Bearer t", 500, 100_000, TimeSpan.FromSeconds(3)),
            (hook.Name, hook.Url.ToString(), hook.Authorization, hook.BatchSize, hook.MaxQueue, hook.Timeout));
        Assert.Equal([DeliveryEventType.Bounce, DeliveryEventType.Expiration], hook.Events!.Order());
        Assert.Empty(Load().Webhooks);

        foreach ((string key, string value) in new[]
                 {
                     ("Mta:Webhooks:a:Url", "ftp://hooks.example/"), ("Mta:Webhooks:a:Url", "/relative"),
                     ("Mta:Webhooks:a:Authorization", "Bearer t"), // no Url
                 })
        {
            var error = Assert.Throws<InvalidOperationException>(() => Load((key, value)));
            Assert.Contains("Mta:Webhooks:a:Url", error.Message);
        }

        var events = Assert.Throws<InvalidOperationException>(() => Load(("Mta:Webhooks:a:Url", "http://127.0.0.1/"), ("Mta:Webhooks:a:Events", "Delivery,3")));
        Assert.Contains("Mta:Webhooks:a:Events", events.Message);
        var size = Assert.Throws<InvalidOperationException>(() => Load(("Mta:Webhooks:a:Url", "http://127.0.0.1/"), ("Mta:Webhooks:a:BatchSize", "0")));
        Assert.Contains("Mta:Webhooks:a:BatchSize", size.Message);
    }

    private sealed record ReceivedPost(string Body, string? ContentType, string? Authorization, TimeSpan At);

    // A real HTTP receiver on 127.0.0.1, port chosen by the OS. respond maps the request number (from 1) to a status.
    private sealed class WebhookReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<ReceivedPost> _posts = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _count;

        private WebhookReceiver(Func<int, CancellationToken, Task<int>> respond, int? retryAfterSeconds)
        {
            WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            _app = builder.Build();
            _app.MapPost("/events", async context =>
            {
                using var reader = new StreamReader(context.Request.Body);
                string body = await reader.ReadToEndAsync();
                _posts.Enqueue(new ReceivedPost(body, context.Request.ContentType, context.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null,
                    _clock.Elapsed));
                int status = await respond(Interlocked.Increment(ref _count), context.RequestAborted);
                if (retryAfterSeconds is { } seconds && status != 200)
                {
                    context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                context.Response.StatusCode = status;
            });
        }

        public Uri Url { get; private set; } = null!;
        public IReadOnlyCollection<ReceivedPost> Posts => _posts;

        public static async Task<WebhookReceiver> StartAsync(Func<int, CancellationToken, Task<int>>? respond = null, int? retryAfterSeconds = null)
        {
            var receiver = new WebhookReceiver(respond ?? ((_, _) => Task.FromResult(200)), retryAfterSeconds);
            await receiver._app.StartAsync();
            string address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            receiver.Url = new Uri(new Uri(address), "/events");
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
        }
    }
}
