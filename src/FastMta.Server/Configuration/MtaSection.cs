namespace FastMta.Server.Configuration;

/// <summary>
/// The shape of the configuration section <c>Mta</c> (the public contract; every key is in the README), bound by the
/// framework's configuration binder. Scalars are nullable: null means "not set", and the default is the one written
/// where the option is defined (the library's options class, or a constant here for the Server's own keys), so that
/// each default is written once. Not here: list keys (one comma-separated value or an array, which the binder cannot
/// split; see <see cref="ConfigurationValues.ReadList(IConfigurationSection)"/>) and the traffic-shaping keys
/// (see <see cref="ShapingConfiguration"/>).
/// </summary>
internal sealed class MtaSection
{
    public const string Name = "Mta";

    /// <summary>Mta:Smtp:Listen when it lists nothing.</summary>
    public static readonly IReadOnlyList<string> DefaultSmtpListen = ["127.0.0.1:2525"];

    /// <summary>Mta:Relay:Networks when it lists nothing: the loopback networks.</summary>
    public static readonly IReadOnlyList<string> DefaultRelayNetworks = ["127.0.0.0/8", "::1/128"];

    /// <summary>Mta:Hostname, or else the machine's host name.</summary>
    public string ResolvedHostname => Hostname is { Length: > 0 } hostname ? hostname : System.Net.Dns.GetHostName();

    public string? Hostname { get; set; }
    public LimitsSection Limits { get; set; } = new();
    public AuthSection Auth { get; set; } = new();
    public TlsSection Tls { get; set; } = new();
    public SpoolSection Spool { get; set; } = new();
    public HttpSection Http { get; set; } = new();
    public DeliverySection Delivery { get; set; } = new();
    public QueueSection Queue { get; set; } = new();
    public DnsSection Dns { get; set; } = new();
    public DeliveryLogSection DeliveryLog { get; set; } = new();

    /// <summary>Mta:Routes:&lt;domain&gt; (or <c>*</c>) → host:port.</summary>
    public Dictionary<string, string> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, WebhookSection> Webhooks { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Mta:Limits, into <see cref="FastMta.Inbound.InboundOptions"/> (same names there).</summary>
internal sealed class LimitsSection
{
    public long? MaxMessageBytes { get; set; }
    public int? MaxRecipients { get; set; }
    public TimeSpan? CommandTimeout { get; set; }
    public TimeSpan? DataTimeout { get; set; }
    public int? MaxConnections { get; set; }
    public int? MaxErrors { get; set; }
    public int? MinDataRate { get; set; }
    public TimeSpan? MinDataRateGracePeriod { get; set; }
    public int? MaxConnectionsPerClient { get; set; }
    public bool? ExemptRelayNetworks { get; set; }
}

/// <summary>Mta:Auth, into <see cref="FastMta.Inbound.InboundOptions"/> (its names say "Auth": MaxFailures is MaxAuthFailures).</summary>
internal sealed class AuthSection
{
    /// <summary>Mta:Auth:MaxConcurrentVerifications starts that many threads: bounded, as a typo must not start a million.</summary>
    public const int MaxVerifierThreads = 256;

    /// <summary>name → stored secret (a PBKDF2 hash, or for development a plain password).</summary>
    public Dictionary<string, string> Users { get; set; } = new(StringComparer.Ordinal);
    public bool? AllowPlaintext { get; set; }
    public int? MaxFailures { get; set; }
    public TimeSpan? FailureWindow { get; set; }
    public int? MaxConcurrentVerifications { get; set; }
    public TimeSpan? MaxVerificationWait { get; set; }
    public int? MaxFailuresPerMinute { get; set; }
}

/// <summary>Mta:Tls: the STARTTLS certificate (none: self-signed at start-up).</summary>
internal sealed class TlsSection
{
    public string? CertificatePath { get; set; }
    public string? CertificatePassword { get; set; }
}

/// <summary>Mta:Spool, into <see cref="FastMta.Spool.SpoolOptions"/>.</summary>
internal sealed class SpoolSection
{
    public string? Path { get; set; }

    /// <summary>A name, parsed by <see cref="ConfigurationValues.ParseName{TEnum}"/>: the binder would also take numbers ("1").</summary>
    public string? Durability { get; set; }
}

/// <summary>Mta:Http: the HTTP listener, its API keys and the injection API's limits.</summary>
internal sealed class HttpSection
{
    public const string DefaultListen = "127.0.0.1:8025";

    public string? Listen { get; set; }
    public int? MaxConcurrentInjections { get; set; }
    public long? MaxRequestBodySize { get; set; }

    /// <summary>name → <c>sha256$&lt;base64&gt;</c> of the key.</summary>
    public Dictionary<string, string> ApiKeys { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Mta:Delivery, into <see cref="FastMta.Queue.QueueOptions"/>, <see cref="FastMta.Outbound.OutboundOptions"/> and
/// the shaping default rule (see <see cref="DeliveryKeys"/> for which key feeds which limit, and the deprecated aliases).</summary>
internal sealed class DeliverySection
{
    public const bool DefaultEnabled = true;
    public const int DefaultPort = 25;

    public bool? Enabled { get; set; }
    public bool? Paused { get; set; }
    public int? Port { get; set; }
    public int? MaxDeliveriesPerDestination { get; set; }
    public int? MaxDeliveriesInFlight { get; set; }
    public int? MaxConnectionsPerHost { get; set; }

    /// <summary>Deprecated alias (see <see cref="DeliveryKeys"/>): fills MaxDeliveriesPerDestination, MaxConnectionsPerHost and
    /// Mta:Shaping:Default:MaxConnections where they are not set.</summary>
    public int? MaxConnectionsPerDestination { get; set; }

    /// <summary>Deprecated alias (see <see cref="DeliveryKeys"/>): fills Mta:Shaping:Default:MaxMessagesPerConnection when it is not set.</summary>
    public int? MessagesPerConnection { get; set; }
    public TimeSpan? IdleTimeout { get; set; }
    public TimeSpan? ConnectTimeout { get; set; }
    public string? EhloName { get; set; }
    public string? SourceAddress { get; set; }

    /// <summary>A name, parsed by <see cref="ConfigurationValues.ParseName{TEnum}"/>.</summary>
    public string? Tls { get; set; }
    public bool? VerifyCertificate { get; set; }
}

/// <summary>Mta:Queue, into <see cref="FastMta.Queue.QueueOptions"/>.</summary>
internal sealed class QueueSection
{
    /// <summary>"00:05:00,00:10:00,...", parsed by <see cref="FastMta.Queue.QueueOptions.ParseSchedule"/>.</summary>
    public string? RetrySchedule { get; set; }
    public TimeSpan? MaxAge { get; set; }
    public int? MaxRecipientsPerTransaction { get; set; }
    public long? CopyForwardDistance { get; set; }
}

/// <summary>Mta:Dns, into <see cref="FastMta.Outbound.Dns.DnsOptions"/> (Servers is a list key).</summary>
internal sealed class DnsSection
{
    public TimeSpan? Timeout { get; set; }
    public int? Retries { get; set; }
}

/// <summary>Mta:DeliveryLog.</summary>
internal sealed class DeliveryLogSection
{
    public const string DefaultPath = "./data/log/delivery.jsonl";

    public string? Path { get; set; }
}

/// <summary>Mta:Webhooks:&lt;name&gt;, into <see cref="WebhookSettings"/> (Events is a list key).</summary>
internal sealed class WebhookSection
{
    public string? Url { get; set; }
    public string? Authorization { get; set; }
    public int? BatchSize { get; set; }
    public int? MaxQueue { get; set; }
    public TimeSpan? Timeout { get; set; }
    public TimeSpan? Linger { get; set; }
    public TimeSpan? MaxBackoff { get; set; }
}
