using System.Diagnostics.Metrics;
using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Server.Configuration;
using FastMta.Server.Testing;
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
    IConfiguration configuration, IMeterFactory meters) : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private DeliveryLog? _deliveryLog;
    private List<WebhookPublisher> _webhooks = [];
    private OutboundConnectionPool? _pool;
    private QueueManager? _queue;
    private TrafficShaper? _shaper;
    private IDisposable? _reloadSubscription;
    private ShapingOptions _shapingOptions = settings.Shaping.Options;

    public QueueManager? Queue => _queue;

    /// <summary>The live shaper (null while delivery is disabled or stopped).</summary>
    public ITrafficShaper? Shaper => _shaper;

    /// <summary>Whether a pool a message asks for (X-FastMta-Pool, the API's pool) is configured now. With delivery
    /// off there is no shaping to ask, and any name is kept: the queue checks again when it indexes the message.</summary>
    public bool IsKnownPool(string name) => _shaper?.HasPool(name) ?? true;

    /// <summary>The shaping configuration in force (the latest one that loaded).</summary>
    public ShapingOptions ShapingOptions => Volatile.Read(ref _shapingOptions);

    // Source suspensions live in the shaper alone (the admin API reads them there); resuming also wakes the queue.
    public bool SuspendSource(string name, DateTimeOffset? until) => _shaper?.SuspendSource(name, until) == true;

    public bool ResumeSource(string name)
    {
        if (_shaper?.ResumeSource(name) != true)
        {
            return false;
        }

        _queue?.RecheckShaping(); // destinations parked until the suspension's end may go now
        return true;
    }

    /// <summary>/health: a reason per delivery loop that has failed and not yet recovered.</summary>
    public void AddProblems(List<string> problems)
    {
        _queue?.AddProblems(problems);
        _deliveryLog?.AddProblems(problems);
        foreach (WebhookPublisher webhook in _webhooks)
        {
            webhook.AddProblems(problems);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        DeliverySettings delivery = settings.Delivery;
        ILogger logger = loggerFactory.CreateLogger<DeliveryService>();
        WarnAboutDeprecatedKeys(delivery.ConnectionLimits, logger);
        if (!delivery.Enabled)
        {
            logger.LogWarning("Mta:Delivery:Enabled is false: mail is accepted and spooled but not delivered");
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(delivery.DeliveryLogPath)!);
        // Test hook, not an operator setting (LongTimerTests): the writer fails on each batch with this sender's events.
        _deliveryLog = configuration["Mta:Testing:DeliveryLogFaultSender"] is { Length: > 0 } poison
            ? DeliveryLogFaultStream.Open(delivery.DeliveryLogPath, poison, loggerFactory.CreateLogger<DeliveryLog>(), meters)
            : new DeliveryLog(delivery.DeliveryLogPath, loggerFactory.CreateLogger<DeliveryLog>(), meters);
        _pool = new OutboundConnectionPool(delivery.Outbound, meters, loggerFactory, time);
        var resolver = new DestinationResolver(delivery.Dns, delivery.Routes, delivery.Port, time, loggerFactory.CreateLogger<DestinationResolver>(), meters);
        var agent = new SmtpDeliveryAgent(resolver, _pool, loggerFactory.CreateLogger<SmtpDeliveryAgent>());
        var webhookMetrics = new WebhookMetrics(meters);
        _webhooks = [.. settings.Webhooks.Select(w => new WebhookPublisher(w, loggerFactory.CreateLogger<WebhookPublisher>(), webhookMetrics))];
        IDeliveryEventSink events = _webhooks.Count == 0 ? _deliveryLog : new DeliveryEventFanOut([_deliveryLog, .. _webhooks]);
        // The agent answers the shaper's idle-connection question from the pool's published state, lock-free.
        _shaper = new TrafficShaper(settings.Shaping.Options, meters, time, agent);
        _queue = new QueueManager(delivery.Queue, new QueueDependencies
        {
            Spool = spool.Spool,
            Agent = agent,
            Events = events,
            Shaper = SchedulingShaper(_shaper, logger),
            Sites = resolver,
            Observers = [new ShapingSettlement(_shaper)],
            Logger = loggerFactory.CreateLogger<QueueManager>(),
            Meters = meters,
            Time = time,
        });
        _reloadSubscription = ChangeToken.OnChange(configuration.GetReloadToken, () => ReloadShaping(logger));
        await _queue.StartAsync(cancellationToken);
        logger.LogInformation("Delivery started: {Messages} message(s) queued, MX port {Port}, {Routes} static route(s), delivery log {Log}",
            _queue.MessageCount, delivery.Port, delivery.Routes.Count, delivery.DeliveryLogPath);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_queue is not null)
        {
            try
            {
                await _queue.StopAsync(StopGrace);
            }
            catch (Exception e)
            {
                // A bug; the spool and the logs must still close cleanly, and the process exit with 0 after SIGTERM.
                loggerFactory.CreateLogger<DeliveryService>().LogCritical(e, "Stopping the queue failed");
            }
        }

        await DisposeAsync();
    }

    // The shaper the queue schedules with: the process's one, or with the test hook Mta:Testing:SchedulerFaults (not an
    // operator setting; LongTimerTests) that one behind a decorator that fails the scheduler's next N admissions.
    private ITrafficShaper SchedulingShaper(TrafficShaper shaper, ILogger logger)
    {
        if (configuration.GetValue("Mta:Testing:SchedulerFaults", 0) is > 0 and int faults)
        {
            logger.LogWarning("Mta:Testing:SchedulerFaults = {Faults}: the queue scheduler will fail on purpose (a test hook)", faults);
            return new SchedulerFaultShaper(shaper, faults);
        }

        return shaper;
    }

    // Deprecated keys keep working; the operator is told once, at start-up, which keys to set instead.
    private static void WarnAboutDeprecatedKeys(ConnectionLimits limits, ILogger logger)
    {
        foreach (DeprecatedKeyUse use in limits.DeprecatedKeys)
        {
            if (use.Sets.Count > 0)
            {
                logger.LogWarning("{DeprecatedKey} is deprecated: it sets {Keys}, which are not set; set those keys instead",
                    use.Key, string.Join(", ", use.Sets));
            }
            else
            {
                logger.LogWarning("{DeprecatedKey} is deprecated and ignored: the keys it stood for are set", use.Key);
            }
        }
    }

    private void ReloadShaping(ILogger logger)
    {
        if (_shaper is not { } current)
        {
            return;
        }

        try
        {
            ShapingSettings reloaded = settings.ReloadShaping(configuration);
            current.Update(reloaded.Options);
            Volatile.Write(ref _shapingOptions, reloaded.Options);
            _queue?.RecheckShaping();
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
        _reloadSubscription?.Dispose();
        _reloadSubscription = null;
        if (_queue is not null)
        {
            await _queue.DisposeAsync();
            _queue = null;
        }

        if (_pool is not null)
        {
            await _pool.DisposeAsync();
            _pool = null;
        }

        _shaper?.Dispose();
        _shaper = null;

        // After the queue (no more events), before the delivery log; each flushes for at most a few seconds.
        await Task.WhenAll(_webhooks.Select(w => w.DisposeAsync().AsTask()));
        _webhooks = [];

        if (_deliveryLog is not null)
        {
            await _deliveryLog.DisposeAsync();
            _deliveryLog = null;
        }
    }
}
