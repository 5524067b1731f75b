using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Server.Webhooks;
using FastMta.Shaping;
using Microsoft.Extensions.Primitives;

namespace FastMta.Server;

// Starts the queue after the spool is open and before Kestrel accepts mail (hosted services registered before the
// server start first and stop last), so every committed message is indexed. On shutdown Kestrel drains first, then
// the queue finishes or abandons its attempts (abandoned ones are retried after restart), then the spool closes.
// Traffic shaping: one TrafficShaper for the process, handed to the queue with the resolver as its site resolver;
// Mta:Egress and Mta:Shaping are re-read when the configuration reloads (an invalid change is logged and ignored).
internal sealed class DeliveryService(MtaSettings settings, SpoolService spool, ILoggerFactory loggerFactory, TimeProvider time,
    IConfiguration configuration) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private DeliveryLog? deliveryLog;
    private List<WebhookPublisher> webhooks = [];
    private OutboundConnectionPool? pool;
    private QueueManager? queue;
    private TrafficShaper? shaper;
    private IDisposable? reloadSubscription;
    private ShapingOptions shapingOptions = settings.Shaping.Options;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset?> suspensions = new(StringComparer.OrdinalIgnoreCase);

    public QueueManager? Queue => queue;

    /// <summary>The live shaper (null while delivery is disabled or stopped).</summary>
    public TrafficShaper? Shaper => shaper;

    /// <summary>Whether a pool a message asks for (X-FastMta-Pool, the API's pool) is configured now. With delivery
    /// off there is no shaping to ask, and any name is kept: the queue checks again when it indexes the message.</summary>
    public bool IsKnownPool(string name) => shaper?.HasPool(name) ?? true;

    /// <summary>The shaping configuration in force (the latest one that loaded).</summary>
    public ShapingOptions ShapingOptions => Volatile.Read(ref shapingOptions);

    /// <summary>Sources suspended through <see cref="SuspendSource"/> and until when (null: until resumed), for the
    /// admin API (the shaper keeps its own state; this is the record of what the admin asked).</summary>
    public IReadOnlyDictionary<string, DateTimeOffset?> Suspensions => suspensions;

    public bool SuspendSource(string name, DateTimeOffset? until)
    {
        if (shaper?.SuspendSource(name, until) != true)
        {
            return false;
        }

        suspensions[name] = until;
        return true;
    }

    public bool ResumeSource(string name)
    {
        if (shaper?.ResumeSource(name) != true)
        {
            return false;
        }

        suspensions.TryRemove(name, out _);
        queue?.RecheckShaping(); // destinations parked until the suspension's end may go now
        return true;
    }

    /// <summary>/health: a reason per delivery loop that has failed and not yet recovered.</summary>
    public void AddProblems(List<string> problems)
    {
        queue?.AddProblems(problems);
        deliveryLog?.AddProblems(problems);
        foreach (WebhookPublisher webhook in webhooks)
        {
            webhook.AddProblems(problems);
        }
    }

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
        deliveryLog = new DeliveryLog(delivery.DeliveryLogPath, loggerFactory.CreateLogger<DeliveryLog>())
        {
            FaultOnSender = configuration["Mta:Testing:DeliveryLogFaultSender"], // test hook, not an operator setting
        };
        pool = new OutboundConnectionPool(delivery.Outbound, loggerFactory, time);
        var resolver = new DestinationResolver(delivery.Dns, delivery.Routes, delivery.Port, time, loggerFactory.CreateLogger<DestinationResolver>());
        var agent = new SmtpDeliveryAgent(resolver, pool, loggerFactory.CreateLogger<SmtpDeliveryAgent>());
        webhooks = [.. settings.Webhooks.Select(w => new WebhookPublisher(w, loggerFactory.CreateLogger<WebhookPublisher>()))];
        IDeliveryEventSink events = webhooks.Count == 0 ? deliveryLog : new DeliveryEventFanOut([deliveryLog, .. webhooks]);
        shaper = new TrafficShaper(settings.Shaping.Options, time);
        queue = new QueueManager(spool.Spool, agent, events, delivery.Queue, loggerFactory.CreateLogger<QueueManager>(), time,
            shaper, resolver);
        // Test hook, not an operator setting: the scheduler's next N passes with mail queued throw (LongTimerTests).
        if (configuration.GetValue("Mta:Testing:SchedulerFaults", 0) is > 0 and int faults)
        {
            logger.LogWarning("Mta:Testing:SchedulerFaults = {Faults}: the queue scheduler will fail on purpose (a test hook)", faults);
            queue.SchedulerFaultsToInject = faults;
        }

        reloadSubscription = ChangeToken.OnChange(configuration.GetReloadToken, () => ReloadShaping(logger));
        await queue.StartAsync(cancellationToken);
        logger.LogInformation("Delivery started: {Messages} message(s) queued, MX port {Port}, {Routes} static route(s), delivery log {Log}",
            queue.MessageCount, delivery.Port, delivery.Routes.Count, delivery.DeliveryLogPath);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (queue is not null)
        {
            try
            {
                await queue.StopAsync(StopGrace);
            }
            catch (Exception e)
            {
                // A bug; the spool and the logs must still close cleanly, and the process exit with 0 after SIGTERM.
                loggerFactory.CreateLogger<DeliveryService>().LogCritical(e, "Stopping the queue failed");
            }
        }

        await DisposeAsync();
    }

    private void ReloadShaping(ILogger logger)
    {
        if (shaper is not { } current)
        {
            return;
        }

        try
        {
            ShapingSettings reloaded = settings.ReloadShaping(configuration);
            current.Update(reloaded.Options);
            Volatile.Write(ref shapingOptions, reloaded.Options);
            queue?.RecheckShaping();
            logger.LogInformation("Traffic shaping reloaded: {Sources} source(s), {Pools} pool(s), {Rules} rule(s)",
                reloaded.Options.Sources.Count, reloaded.Options.Pools.Count, reloaded.Options.Rules.Count);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            logger.LogError("Traffic shaping configuration not reloaded, the previous one stays in force: {Error}", e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        reloadSubscription?.Dispose();
        reloadSubscription = null;
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

        shaper?.Dispose();
        shaper = null;

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
