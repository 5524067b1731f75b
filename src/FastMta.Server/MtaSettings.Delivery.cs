using System.Globalization;
using System.Net;
using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

/// <summary>The delivery half's settings: queue (Mta:Queue), outbound SMTP (Mta:Delivery), DNS (Mta:Dns), static
/// routes (Mta:Routes) and the delivery log (Mta:DeliveryLog).</summary>
internal sealed class DeliverySettings
{
    public required bool Enabled { get; init; }
    public required int Port { get; init; }
    public required QueueOptions Queue { get; init; }
    public required OutboundOptions Outbound { get; init; }
    public required DnsOptions Dns { get; init; }
    public required IReadOnlyDictionary<string, string> Routes { get; init; }
    public required string DeliveryLogPath { get; init; }
    public required ConnectionLimitSettings ConnectionLimits { get; init; }
}

internal sealed partial class MtaSettings
{
    private static DeliverySettings LoadDelivery(IConfigurationSection mta, string hostname)
    {
        IConfigurationSection queue = mta.GetSection("Queue");
        IConfigurationSection delivery = mta.GetSection("Delivery");
        IConfigurationSection dns = mta.GetSection("Dns");
        ConnectionLimitSettings limits = ConnectionLimitSettings.Read(mta);

        var queueOptions = new QueueOptions
        {
            RetrySchedule = queue["RetrySchedule"] is { Length: > 0 } schedule
                ? Wrap(() => QueueOptions.ParseSchedule(schedule), "Mta:Queue:RetrySchedule")
                : QueueOptions.DefaultRetrySchedule,
            MaxAge = GetTimeSpan(queue, "MaxAge", TimeSpan.FromDays(5), max: QueueOptions.MaxLifetime),
            MaxRecipientsPerTransaction = (int)GetLong(queue, "MaxRecipientsPerTransaction", 100, min: 1),
            CopyForwardDistance = GetLong(queue, "CopyForwardDistance", 1L << 30, min: 1 << 20),
            MaxConcurrencyPerDestination = limits.MaxDeliveriesPerDestination,
            MaxDeliveriesInFlight = (int)GetLong(delivery, "MaxDeliveriesInFlight", 1000, min: 1),
            Paused = delivery.GetValue("Paused", false),
            ReportingMta = hostname,
        };

        string? source = delivery["SourceAddress"];
        var outbound = new OutboundOptions
        {
            EhloName = delivery["EhloName"] is { Length: > 0 } ehlo ? ehlo : hostname,
            MessagesPerConnection = limits.DefaultRuleMaxMessagesPerConnection,
            IdleTimeout = GetTimeSpan(delivery, "IdleTimeout", TimeSpan.FromSeconds(30)),
            ConnectTimeout = GetTimeSpan(delivery, "ConnectTimeout", TimeSpan.FromSeconds(30)),
            MaxConnectionsPerHost = limits.MaxConnectionsPerHost,
            Tls = delivery["Tls"] is { Length: > 0 } tls
                ? Enum.TryParse(tls, ignoreCase: true, out OutboundTlsMode mode) && Enum.IsDefined(mode)
                    ? mode
                    : throw new InvalidOperationException($"Mta:Delivery:Tls = '{tls}' must be Opportunistic, Required or Disabled.")
                : OutboundTlsMode.Opportunistic,
            VerifyCertificate = delivery.GetValue("VerifyCertificate", false),
            SourceAddress = string.IsNullOrEmpty(source) ? null
                : IPAddress.TryParse(source, out IPAddress? address) ? address
                : throw new InvalidOperationException($"Mta:Delivery:SourceAddress = '{source}' is not an IP address."),
        };

        var dnsOptions = new DnsOptions
        {
            Servers = ReadList(dns.GetSection("Servers"), []), // empty: the system's resolvers
            Timeout = GetTimeSpan(dns, "Timeout", TimeSpan.FromSeconds(5)),
            Retries = (int)GetLong(dns, "Retries", 2, min: 0),
        };
        Wrap(() => { dnsOptions.Validate(); return 0; }, "Mta:Dns");

        var routes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (IConfigurationSection route in mta.GetSection("Routes").GetChildren())
        {
            if (route.Value is not { Length: > 0 } target || !IsHostPort(target))
            {
                throw new InvalidOperationException($"Mta:Routes:{route.Key} = '{route.Value}' must be host:port (e.g. 127.0.0.1:2526 or smtp.example.com:25).");
            }

            routes[route.Key] = target;
        }

        Wrap(() => { queueOptions.Validate(); return 0; }, "Mta:Queue");
        return new DeliverySettings
        {
            Enabled = delivery.GetValue("Enabled", true),
            Port = (int)GetLong(delivery, "Port", 25, min: 1),
            Queue = queueOptions,
            Outbound = outbound,
            Dns = dnsOptions,
            Routes = routes,
            DeliveryLogPath = Path.GetFullPath(mta["DeliveryLog:Path"] is { Length: > 0 } logPath ? logPath : "./data/log/delivery.jsonl"),
            ConnectionLimits = limits,
        };
    }

    private static bool IsHostPort(string text)
    {
        int colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            && port is > 0 and < 65536;
    }

    // Turns a library's validation exception into the start-up error that names the key.
    private static T Wrap<T>(Func<T> parse, string key)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new InvalidOperationException($"{key}: {e.Message}", e);
        }
    }
}
