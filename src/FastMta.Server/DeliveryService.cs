using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Server.Webhooks;

namespace FastMta.Server;

// Starts the queue after the spool is open and before Kestrel accepts mail (hosted services registered before the
// server start first and stop last), so every committed message is indexed. On shutdown Kestrel drains first, then
// the queue finishes or abandons its attempts (abandoned ones are retried after restart), then the spool closes.
internal sealed class DeliveryService(MtaSettings settings, SpoolService spool, ILoggerFactory loggerFactory, TimeProvider time) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private DeliveryLog? deliveryLog;
    private List<WebhookPublisher> webhooks = [];
    private OutboundConnectionPool? pool;
    private QueueManager? queue;

    public QueueManager? Queue => queue;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        DeliverySettings delivery = settings.Delivery;
        ILogger logger = loggerFactory.CreateLogger<DeliveryService>();
        if (!delivery.Enabled)
        {
            logger.LogWarning("Mta:Delivery:Enabled is false: mail is accepted and spooled but not delivered");
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(delivery.DeliveryLogPath)!);
        deliveryLog = new DeliveryLog(delivery.DeliveryLogPath, loggerFactory.CreateLogger<DeliveryLog>());
        pool = new OutboundConnectionPool(delivery.Outbound, loggerFactory, time);
        var resolver = new DestinationResolver(delivery.Dns, delivery.Routes, delivery.Port, time, loggerFactory.CreateLogger<DestinationResolver>());
        var agent = new SmtpDeliveryAgent(resolver, pool, loggerFactory.CreateLogger<SmtpDeliveryAgent>());
        webhooks = [.. settings.Webhooks.Select(w => new WebhookPublisher(w, loggerFactory.CreateLogger<WebhookPublisher>()))];
        IDeliveryEventSink events = webhooks.Count == 0 ? deliveryLog : new DeliveryEventFanOut([deliveryLog, .. webhooks]);
        queue = new QueueManager(spool.Spool, agent, events, delivery.Queue, loggerFactory.CreateLogger<QueueManager>(), time);
        await queue.StartAsync(cancellationToken);
        logger.LogInformation("Delivery started: {Messages} message(s) queued, MX port {Port}, {Routes} static route(s), delivery log {Log}",
            queue.MessageCount, delivery.Port, delivery.Routes.Count, delivery.DeliveryLogPath);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (queue is not null)
        {
            await queue.StopAsync(StopGrace);
        }

        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (queue is not null)
        {
            await queue.DisposeAsync();
            queue = null;
        }

        if (pool is not null)
        {
            await pool.DisposeAsync();
            pool = null;
        }

        // After the queue (no more events), before the delivery log; each flushes for at most a few seconds.
        await Task.WhenAll(webhooks.Select(w => w.DisposeAsync().AsTask()));
        webhooks = [];

        if (deliveryLog is not null)
        {
            await deliveryLog.DisposeAsync();
            deliveryLog = null;
        }
    }
}
