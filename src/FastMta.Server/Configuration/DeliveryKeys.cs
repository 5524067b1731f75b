using FastMta.Outbound;
using FastMta.Queue;

namespace FastMta.Server.Configuration;

/// <summary>
/// The keys that feed more than one limit, and their one default each (the default of the option they were first
/// defined for). Mta:Delivery:MaxConnectionsPerDestination: the queue's concurrency per destination, the connection
/// pool's connections per host and the shaping default rule's connections; Mta:Delivery:MessagesPerConnection: the
/// pool's and the default rule's; Mta:Queue:MaxRecipientsPerTransaction: the queue's and the default rule's.
/// Which key feeds which limit is decided here and in the mappings that call these.
/// </summary>
internal static class DeliveryKeys
{
    private static readonly QueueOptions QueueDefaults = new();
    private static readonly OutboundOptions OutboundDefaults = new();

    public static int MaxConnectionsPerDestination(DeliverySection delivery) =>
        delivery.MaxConnectionsPerDestination ?? QueueDefaults.MaxConcurrencyPerDestination;

    public static int MessagesPerConnection(DeliverySection delivery) =>
        delivery.MessagesPerConnection ?? OutboundDefaults.MessagesPerConnection;

    public static int MaxRecipientsPerTransaction(QueueSection queue) =>
        queue.MaxRecipientsPerTransaction ?? QueueDefaults.MaxRecipientsPerTransaction;
}
