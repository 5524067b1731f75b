using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

/// <summary>
/// The delivery limits on attempts and connections, one configuration key each: deliveries in flight per destination
/// domain (the queue), open connections per receiver address (the connection pool), and the default shaping rule's
/// connections in use and messages per connection (the shaper). Two older keys fed several of these at once; each
/// still works as an alias for the limits whose own key is not set, with a warning at start-up.
/// </summary>
internal sealed class ConnectionLimitSettings
{
    public const string DeliveriesPerDestinationKey = "Mta:Delivery:MaxDeliveriesPerDestination";
    public const string ConnectionsPerHostKey = "Mta:Delivery:MaxConnectionsPerHost";
    public const string DefaultRuleConnectionsKey = "Mta:Shaping:Default:MaxConnections";
    public const string DefaultRuleMessagesPerConnectionKey = "Mta:Shaping:Default:MaxMessagesPerConnection";

    /// <summary>Deprecated: once the queue's, the pool's and the default rule's connection limit at once.</summary>
    public const string LegacyPerDestinationKey = "Mta:Delivery:MaxConnectionsPerDestination";

    /// <summary>Deprecated: the default rule's MaxMessagesPerConnection under another name.</summary>
    public const string LegacyMessagesPerConnectionKey = "Mta:Delivery:MessagesPerConnection";

    private const int DefaultConnections = 20;
    private const int DefaultMessagesPerConnection = 100;

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

    /// <summary>Reads the limits from the "Mta" section; throws <see cref="InvalidOperationException"/> naming the key
    /// of a value that is not an integer of at least 1.</summary>
    public static ConnectionLimitSettings Read(IConfigurationSection mta)
    {
        IConfigurationSection configuration = mta;
        int? legacyPerDestination = Get(configuration, LegacyPerDestinationKey);
        int? legacyMessages = Get(configuration, LegacyMessagesPerConnectionKey);
        var deprecated = new List<DeprecatedKeyUse>();
        var filled = new List<string>();

        int Resolve(string key, int? legacy, int fallback, List<string> filledByLegacy)
        {
            if (Get(configuration, key) is int own)
            {
                return own;
            }

            if (legacy is int value)
            {
                filledByLegacy.Add(key);
                return value;
            }

            return fallback;
        }

        int deliveries = Resolve(DeliveriesPerDestinationKey, legacyPerDestination, DefaultConnections, filled);
        int perHost = Resolve(ConnectionsPerHostKey, legacyPerDestination, DefaultConnections, filled);
        int ruleConnections = Resolve(DefaultRuleConnectionsKey, legacyPerDestination, DefaultConnections, filled);
        if (legacyPerDestination is not null)
        {
            deprecated.Add(new DeprecatedKeyUse(LegacyPerDestinationKey, filled));
        }

        var filledMessages = new List<string>();
        int messages = Resolve(DefaultRuleMessagesPerConnectionKey, legacyMessages, DefaultMessagesPerConnection, filledMessages);
        if (legacyMessages is not null)
        {
            deprecated.Add(new DeprecatedKeyUse(LegacyMessagesPerConnectionKey, filledMessages));
        }

        return new ConnectionLimitSettings
        {
            MaxDeliveriesPerDestination = deliveries,
            MaxConnectionsPerHost = perHost,
            DefaultRuleMaxConnections = ruleConnections,
            DefaultRuleMaxMessagesPerConnection = messages,
            DeprecatedKeys = deprecated,
        };
    }

    private static int? Get(IConfigurationSection mta, string key)
    {
        string? text = mta[key[(mta.Path.Length + 1)..]]; // the keys above are full paths under "Mta"
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out int value) && value >= 1
            ? value
            : throw new InvalidOperationException($"{key} = '{text}' must be an integer >= 1.");
    }
}

/// <summary>A deprecated key that is set, and the keys whose limits it set because they were not (empty: it was ignored).</summary>
internal sealed record DeprecatedKeyUse(string Key, IReadOnlyList<string> Sets);
