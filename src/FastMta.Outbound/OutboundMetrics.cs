using System.Diagnostics.Metrics;

namespace FastMta.Outbound;

// The outbound side's instruments. Tag values come from small fixed sets (reasons, outcomes), never hosts,
// addresses or recipients. Names and units are chosen for their Prometheus names (fastmta_outbound_*).
public sealed class OutboundMetrics
{
    public const string MeterName = "FastMta.Outbound";
    private static readonly double[] DeliverySeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly Counter<long> _connectionsOpened;
    private readonly Counter<long> _connectionFailures;
    private readonly UpDownCounter<long> _connectionsOpen;
    private readonly Counter<long> _transactions;
    private readonly Counter<long> _recipients;
    private readonly Counter<long> _bareLineEndsRewritten;
    private readonly Histogram<double> _deliveryDuration;

    /// <summary>Creates the instruments on the factory's "FastMta.Outbound" meter; one per server, shared by the pool's
    /// connections and the delivery agent.</summary>
    public OutboundMetrics(IMeterFactory meters)
    {
        Meter meter = meters.Create(MeterName);
        _connectionsOpened = meter.CreateCounter<long>("fastmta.outbound.connections_opened", "{connection}",
            description: "Outbound SMTP connections established (greeting and EHLO done).");
        _connectionFailures = meter.CreateCounter<long>("fastmta.outbound.connection_failures", "{connection}",
            description: "Outbound connections that failed or died, by reason (connect, timeout, lost, greeting, helo, tls, tls_required, shutdown_421, protocol).");
        _connectionsOpen = meter.CreateUpDownCounter<long>("fastmta.outbound.connections_open", "{connection}",
            description: "Outbound SMTP connections open now (leased or idle in the pool).");
        _transactions = meter.CreateCounter<long>("fastmta.outbound.transactions", "{transaction}",
            description: "Mail transactions attempted (MAIL FROM sent, or refused locally for SIZE/SMTPUTF8).");
        _recipients = meter.CreateCounter<long>("fastmta.outbound.recipients", "{recipient}",
            description: "Recipient delivery attempts, by outcome (delivered, deferred, failed).");
        _bareLineEndsRewritten = meter.CreateCounter<long>("fastmta.outbound.bare_line_end_bodies", "{message}",
            description: "Bodies sent over DATA whose bare CRs or LFs were written as CRLF (only an older spool holds such content; 0 otherwise).");
        _deliveryDuration = meter.CreateHistogram("fastmta.outbound.delivery.duration", "s",
            "Time of one delivery call: DNS, connection lease and the SMTP transaction.",
            tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = DeliverySeconds });
    }

    public void ConnectionOpened()
    {
        _connectionsOpened.Add(1);
        _connectionsOpen.Add(1);
    }

    public void ConnectionClosed() => _connectionsOpen.Add(-1);

    public void ConnectionFailed(string reason) => _connectionFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Transaction() => _transactions.Add(1);

    public void Recipient(string outcome) => _recipients.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void BareLineEndsRewritten() => _bareLineEndsRewritten.Add(1);

    public void DeliveryDuration(TimeSpan duration) => _deliveryDuration.Record(duration.TotalSeconds);
}
