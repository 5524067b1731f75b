using FastMta.Outbound;
using FastMta.Queue;

namespace FastMta.Server.Configuration;

/// <summary>
/// The one place that decides which key feeds which delivery limit, and each key's single default (the default of the
/// option it feeds). One key per limit on attempts and connections: Mta:Delivery:MaxDeliveriesPerDestination (the
/// queue's attempts per destination domain), Mta:Delivery:MaxConnectionsPerHost (the connection pool's open sockets
/// per receiver address), Mta:Shaping:Default:MaxConnections and :MaxMessagesPerConnection (the default shaping rule;
/// the latter is also what the pool hands every connection). Two older keys fed several of these at once; each still
/// fills the limits whose own key is not set (an alias), and <see cref="ConnectionLimits.DeprecatedKeys"/> says so for
/// the warning at start-up. Mta:Queue:MaxRecipientsPerTransaction feeds the queue and the default rule.
/// </summary>
internal static class DeliveryKeys
{
    public const string MaxDeliveriesPerDestinationKey = "Mta:Delivery:MaxDeliveriesPerDestination";
    public const string MaxConnectionsPerHostKey = "Mta:Delivery:MaxConnectionsPerHost";
    public const string DefaultRuleMaxConnectionsKey = "Mta:Shaping:Default:MaxConnections";
    public const string DefaultRuleMaxMessagesPerConnectionKey = "Mta:Shaping:Default:MaxMessagesPerConnection";

    /// <summary>Deprecated: once the queue's, the pool's and the default rule's connection limit at once.</summary>
    public const string LegacyMaxConnectionsPerDestinationKey = "Mta:Delivery:MaxConnectionsPerDestination";

    /// <summary>Deprecated: the default rule's MaxMessagesPerConnection under another name.</summary>
    public const string LegacyMessagesPerConnectionKey = "Mta:Delivery:MessagesPerConnection";

    /// <summary>The default rule's MaxConnections when nothing sets it (the shaping library has no default: null is no
    /// limit), the same number as the queue's and the pool's defaults.</summary>
    public const int DefaultRuleMaxConnections = 20;

    private static readonly QueueOptions QueueDefaults = new();
    private static readonly OutboundOptions OutboundDefaults = new();

    /// <summary>
    /// The connection limits from the bound Mta:Delivery section and, for the default rule's two keys (read by hand
    /// with the other shaping keys, see <see cref="ShapingConfiguration"/>), the configuration. Throws
    /// <see cref="InvalidOperationException"/> naming the key of a default-rule value that is not an integer of at
    /// least 1 (the Mta:Delivery keys are checked by <see cref="MtaSectionValidator"/>).
    /// </summary>
    public static ConnectionLimits Read(DeliverySection delivery, IConfiguration configuration)
    {
        IConfigurationSection defaultRule = configuration.GetSection("Mta:Shaping:Default");
        int? legacyPerDestination = delivery.MaxConnectionsPerDestination;
        int? legacyMessages = delivery.MessagesPerConnection;

        var filled = new List<string>();
        int deliveries = Resolve(delivery.MaxDeliveriesPerDestination, MaxDeliveriesPerDestinationKey, legacyPerDestination,
            QueueDefaults.MaxConcurrencyPerDestination, filled);
        int perHost = Resolve(delivery.MaxConnectionsPerHost, MaxConnectionsPerHostKey, legacyPerDestination,
            OutboundDefaults.MaxConnectionsPerHost, filled);
        int ruleConnections = Resolve(ShapingConfiguration.GetInt(defaultRule, "MaxConnections", min: 1), DefaultRuleMaxConnectionsKey,
            legacyPerDestination, DefaultRuleMaxConnections, filled);

        var filledMessages = new List<string>();
        int messages = Resolve(ShapingConfiguration.GetInt(defaultRule, "MaxMessagesPerConnection", min: 1),
            DefaultRuleMaxMessagesPerConnectionKey, legacyMessages, OutboundDefaults.MessagesPerConnection, filledMessages);

        var deprecated = new List<DeprecatedKeyUse>();
        if (legacyPerDestination is not null)
        {
            deprecated.Add(new DeprecatedKeyUse(LegacyMaxConnectionsPerDestinationKey, filled));
        }

        if (legacyMessages is not null)
        {
            deprecated.Add(new DeprecatedKeyUse(LegacyMessagesPerConnectionKey, filledMessages));
        }

        return new ConnectionLimits
        {
            MaxDeliveriesPerDestination = deliveries,
            MaxConnectionsPerHost = perHost,
            DefaultRuleMaxConnections = ruleConnections,
            DefaultRuleMaxMessagesPerConnection = messages,
            DeprecatedKeys = deprecated,
        };
    }

    public static int MaxRecipientsPerTransaction(QueueSection queue) =>
        queue.MaxRecipientsPerTransaction ?? QueueDefaults.MaxRecipientsPerTransaction;

    // A limit's own key, else the deprecated alias (recorded as filled by it), else the default.
    private static int Resolve(int? own, string key, int? alias, int fallback, List<string> filledByAlias)
    {
        if (own is int value)
        {
            return value;
        }

        if (alias is int aliased)
        {
            filledByAlias.Add(key);
            return aliased;
        }

        return fallback;
    }
}

/// <summary>The delivery limits on attempts and connections as <see cref="DeliveryKeys"/> resolved them.</summary>
internal sealed class ConnectionLimits
{
    /// <summary>Attempts in flight at once per (pool, destination domain) in the queue.</summary>
    public required int MaxDeliveriesPerDestination { get; init; }

    /// <summary>Open connections per (source address, EHLO name, receiver address) in the connection pool.</summary>
    public required int MaxConnectionsPerHost { get; init; }

    /// <summary>The default shaping rule's MaxConnections (attempts in flight per source and site).</summary>
    public required int DefaultRuleMaxConnections { get; init; }

    /// <summary>The default shaping rule's MaxMessagesPerConnection, which every attempt hands to the pool.</summary>
    public required int DefaultRuleMaxMessagesPerConnection { get; init; }

    /// <summary>Deprecated keys in use, for a warning at start-up; empty when none is set.</summary>
    public required IReadOnlyList<DeprecatedKeyUse> DeprecatedKeys { get; init; }
}

/// <summary>A deprecated key that is set, and the keys whose limits it set because they were not (empty: it was ignored).</summary>
internal sealed record DeprecatedKeyUse(string Key, IReadOnlyList<string> Sets);
