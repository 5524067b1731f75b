using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Server.Configuration;

namespace FastMta.Server;

/// <summary>The delivery half's settings: queue (Mta:Queue), outbound SMTP (Mta:Delivery), DNS (Mta:Dns), static
/// routes (Mta:Routes), the delivery log (Mta:DeliveryLog), and the connection limits as <see cref="DeliveryKeys"/> resolved
/// them (with the deprecated keys in use, for the warning at start-up).</summary>
internal sealed class DeliverySettings
{
    public required bool Enabled { get; init; }
    public required int Port { get; init; }
    public required QueueOptions Queue { get; init; }
    public required OutboundOptions Outbound { get; init; }
    public required DnsOptions Dns { get; init; }
    public required IReadOnlyDictionary<string, string> Routes { get; init; }
    public required string DeliveryLogPath { get; init; }
    public required ConnectionLimits ConnectionLimits { get; init; }
}

internal sealed partial class MtaSettings
{
    private static DeliverySettings ReadDelivery(MtaSection mta, QueueOptions queue, OutboundOptions outbound, DnsOptions dns,
        ConnectionLimits limits) => new()
    {
        Enabled = mta.Delivery.Enabled ?? DeliverySection.DefaultEnabled,
        Port = mta.Delivery.Port ?? DeliverySection.DefaultPort,
        Queue = queue,
        Outbound = outbound,
        Dns = dns,
        Routes = new Dictionary<string, string>(mta.Routes, StringComparer.OrdinalIgnoreCase),
        DeliveryLogPath = Path.GetFullPath(mta.DeliveryLog.Path is { Length: > 0 } path ? path : DeliveryLogSection.DefaultPath),
        ConnectionLimits = limits,
    };
}
