using System.Net;
using System.Security.Cryptography.X509Certificates;
using FastMta.Inbound;
using FastMta.Spool;
using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

// Reads the public configuration contract (section "Mta"; keys documented in the README) into validated settings.
// Anything invalid stops start-up with a message naming the key: a relay must not start half-configured.
internal sealed partial class MtaSettings
{
    public required InboundOptions Inbound { get; init; }
    public required SpoolOptions Spool { get; init; }
    public required IReadOnlyList<IPEndPoint> SmtpEndpoints { get; init; }
    public required IPEndPoint HttpEndpoint { get; init; }
    public required bool CertificateIsSelfSigned { get; init; }
    public required IReadOnlyList<string> PlaintextPasswordUsers { get; init; }
    public required DeliverySettings Delivery { get; init; }
    public required IReadOnlyList<WebhookSettings> Webhooks { get; init; }

    public static MtaSettings Load(IConfiguration configuration)
    {
        IConfigurationSection mta = configuration.GetSection("Mta");
        string hostname = mta["Hostname"] is { Length: > 0 } h ? h : Dns.GetHostName();
        if (hostname.Any(c => c <= ' ' || c > '~'))
        {
            throw new InvalidOperationException($"Mta:Hostname '{hostname}' must be printable ASCII without spaces.");
        }

        IConfigurationSection limits = mta.GetSection("Limits");
        X509Certificate2 certificate = TlsCertificate.Load(mta["Tls:CertificatePath"], mta["Tls:CertificatePassword"], hostname,
            out bool selfSigned);
        var users = mta.GetSection("Auth:Users").GetChildren().ToDictionary(u => u.Key, u => u.Value ?? "", StringComparer.Ordinal);
        foreach (var (name, stored) in users)
        {
            if (stored.Length == 0 || !PasswordHasher.IsValidStoredValue(stored))
            {
                throw new InvalidOperationException($"Mta:Auth:Users:{name} is not a valid password hash (see `hash-password`).");
            }
        }

        var inbound = new InboundOptions
        {
            Hostname = hostname,
            MaxMessageBytes = GetLong(limits, "MaxMessageBytes", 36_700_160, min: 1024),
            MaxRecipients = (int)GetLong(limits, "MaxRecipients", 1000, min: 1),
            CommandTimeout = GetTimeSpan(limits, "CommandTimeout", TimeSpan.FromMinutes(5)),
            DataTimeout = GetTimeSpan(limits, "DataTimeout", TimeSpan.FromMinutes(5)),
            MaxConnections = (int)GetLong(limits, "MaxConnections", 1000, min: 1),
            MaxErrors = (int)GetLong(limits, "MaxErrors", 20, min: 1),
            RelayNetworks = ReadList(mta.GetSection("Relay:Networks"), ["127.0.0.0/8", "::1/128"])
                .Select(n => IPNetwork.TryParse(n, out IPNetwork net) ? net
                    : throw new InvalidOperationException($"Mta:Relay:Networks entry '{n}' is not a CIDR (e.g. 10.0.0.0/8)."))
                .ToList(),
            Certificate = certificate,
            AuthUsers = users,
            AllowPlaintextAuth = mta.GetValue("Auth:AllowPlaintext", false),
            MaxAuthFailures = (int)GetLong(mta.GetSection("Auth"), "MaxFailures", 5, min: 1),
            AuthFailureWindow = GetTimeSpan(mta.GetSection("Auth"), "FailureWindow", TimeSpan.FromMinutes(5)),
            MaxConcurrentAuthVerifications = GetInt(mta.GetSection("Auth"), "MaxConcurrentVerifications", Environment.ProcessorCount, 1, MaxAuthVerifierThreads),
            AuthVerificationWait = GetTimeSpan(mta.GetSection("Auth"), "MaxVerificationWait", TimeSpan.FromSeconds(5)),
            MaxAuthFailuresPerMinute = GetInt(mta.GetSection("Auth"), "MaxFailuresPerMinute", 300, 1, int.MaxValue),
            MinDataRate = (int)GetLong(limits, "MinDataRate", 240, min: 0, max: int.MaxValue),
            MinDataRateGracePeriod = GetTimeSpan(limits, "MinDataRateGracePeriod", TimeSpan.FromSeconds(10)),
            MaxConnectionsPerClient = (int)GetLong(limits, "MaxConnectionsPerClient", 20, min: 1, max: int.MaxValue),
            ExemptRelayNetworks = GetBool(limits, "ExemptRelayNetworks"),
        };

        return new MtaSettings
        {
            Inbound = inbound,
            Spool = new SpoolOptions
            {
                Path = Path.GetFullPath(mta["Spool:Path"] is { Length: > 0 } p ? p : "./data/spool"),
                Durability = GetDurability(mta.GetSection("Spool")),
            },
            SmtpEndpoints = ReadList(mta.GetSection("Smtp:Listen"), ["127.0.0.1:2525"]).Select(e => ParseEndpoint(e, "Mta:Smtp:Listen")).ToList(),
            HttpEndpoint = ParseEndpoint(mta["Http:Listen"] is { Length: > 0 } l ? l : "127.0.0.1:8025", "Mta:Http:Listen"),
            CertificateIsSelfSigned = selfSigned,
            PlaintextPasswordUsers = users.Where(u => !PasswordHasher.IsHashed(u.Value)).Select(u => u.Key).ToList(),
            Delivery = LoadDelivery(mta, hostname),
            ApiKeys = LoadApiKeys(mta),
            Webhooks = LoadWebhooks(mta),
            Injection = LoadInjection(mta, inbound.MaxMessageBytes),
            Shaping = LoadShaping(mta, mta["Delivery:EhloName"] is { Length: > 0 } ehloName ? ehloName : hostname),
        };
    }

    // A list key may be given as one value ("a,b" — handy in environment variables) or as an array (appsettings.json).
    private static List<string> ReadList(IConfigurationSection section, string[] defaults)
    {
        var items = section.Value is { Length: > 0 } single
            ? single.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : section.GetChildren().Select(c => c.Value).OfType<string>().Where(v => v.Length > 0).ToList();
        return items.Count > 0 ? items : [.. defaults];
    }

    private static IPEndPoint ParseEndpoint(string text, string key) =>
        IPEndPoint.TryParse(text, out IPEndPoint? endpoint) && endpoint.Port != 0
            ? endpoint
            : throw new InvalidOperationException($"{key} entry '{text}' is not ip:port (e.g. 127.0.0.1:2525 or [::1]:2525).");

    private static long GetLong(IConfigurationSection section, string key, long defaultValue, long min)
    {
        string? text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return defaultValue;
        }
        return long.TryParse(text, out long value) && value >= min
            ? value
            : throw new InvalidOperationException($"{section.Path}:{key} = '{text}' must be an integer >= {min}.");
    }

    private static long GetLong(IConfigurationSection section, string key, long defaultValue, long min, long max)
    {
        long value = GetLong(section, key, defaultValue, min);
        return value <= max
            ? value
            : throw new InvalidOperationException($"{section.Path}:{key} = '{section[key]}' must be an integer between {min} and {max}.");
    }

    // Mta:Spool:Durability: Commit (default) or Relaxed, case-insensitive; names only (no numbers).
    private static SpoolDurability GetDurability(IConfigurationSection spool)
    {
        string? text = spool["Durability"];
        if (string.IsNullOrWhiteSpace(text))
        {
            return SpoolDurability.Commit;
        }
        return Enum.GetNames<SpoolDurability>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase)) is { } name
            ? Enum.Parse<SpoolDurability>(name)
            : throw new InvalidOperationException($"{spool.Path}:Durability = '{text}' must be Commit (250 after the spool commit reached the disk, the default) or Relaxed (250 after it reached the OS page cache).");
    }

    // The longest timeout, window or backoff a time span key takes unless it names its own bound: a day is far beyond
    // any sensible value, and far below the 49.7 days past which a timer armed with it would throw.
    private static readonly TimeSpan MaxTimeSpanSetting = TimeSpan.FromDays(1);

    private static TimeSpan GetTimeSpan(IConfigurationSection section, string key, TimeSpan defaultValue, TimeSpan? max = null)
    {
        string? text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return defaultValue;
        }
        TimeSpan limit = max ?? MaxTimeSpanSetting;
        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out TimeSpan value) && value > TimeSpan.Zero && value <= limit
            ? value
            : throw new InvalidOperationException($"{section.Path}:{key} = '{text}' must be a positive time span (hh:mm:ss) of at most {limit:c}.");
    }
}
