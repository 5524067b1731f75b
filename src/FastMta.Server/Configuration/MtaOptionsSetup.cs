using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastMta.Inbound;
using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Spool;
using Microsoft.Extensions.Options;

namespace FastMta.Server.Configuration;

/// <summary>
/// Maps the bound <see cref="MtaSection"/> onto the libraries' options, where the configuration's shape differs from
/// theirs (Mta:Limits and Mta:Auth both feed <see cref="InboundOptions"/>; the connection limits and their deprecated
/// aliases are resolved by <see cref="DeliveryKeys"/>). A key that is not set leaves the option's own default. The section was validated
/// when it was bound; what the binder cannot parse (lists, CIDRs, endpoints, the certificate) is parsed here.
/// </summary>
internal sealed class MtaOptionsSetup(IOptionsMonitor<MtaSection> section, IConfiguration configuration)
    : IConfigureOptions<InboundOptions>, IConfigureOptions<SpoolOptions>, IConfigureOptions<QueueOptions>,
        IConfigureOptions<OutboundOptions>, IConfigureOptions<DnsOptions>
{
    public void Configure(InboundOptions options)
    {
        MtaSection mta = section.CurrentValue;
        LimitsSection limits = mta.Limits;
        AuthSection auth = mta.Auth;
        options.Hostname = mta.ResolvedHostname;
        options.MaxMessageBytes = limits.MaxMessageBytes ?? options.MaxMessageBytes;
        options.MaxRecipients = limits.MaxRecipients ?? options.MaxRecipients;
        options.CommandTimeout = limits.CommandTimeout ?? options.CommandTimeout;
        options.DataTimeout = limits.DataTimeout ?? options.DataTimeout;
        options.MaxConnections = limits.MaxConnections ?? options.MaxConnections;
        options.MaxErrors = limits.MaxErrors ?? options.MaxErrors;
        options.MinDataRate = limits.MinDataRate ?? options.MinDataRate;
        options.MinDataRateGracePeriod = limits.MinDataRateGracePeriod ?? options.MinDataRateGracePeriod;
        options.MaxConnectionsPerClient = limits.MaxConnectionsPerClient ?? options.MaxConnectionsPerClient;
        options.ExemptRelayNetworks = limits.ExemptRelayNetworks ?? options.ExemptRelayNetworks;
        options.RelayNetworks = ConfigurationValues
            .ReadList(configuration.GetSection("Mta:Relay:Networks"), MtaSection.DefaultRelayNetworks)
            .Select(n => ConfigurationValues.ParseNetwork(n, "Mta:Relay:Networks")).ToList();
        options.Certificate = LoadCertificate(mta.Tls, options.Hostname);
        options.AuthUsers = auth.Users;
        options.AllowPlaintextAuth = auth.AllowPlaintext ?? options.AllowPlaintextAuth;
        options.MaxAuthFailures = auth.MaxFailures ?? options.MaxAuthFailures;
        options.AuthFailureWindow = auth.FailureWindow ?? options.AuthFailureWindow;
        options.MaxConcurrentAuthVerifications = auth.MaxConcurrentVerifications ?? options.MaxConcurrentAuthVerifications;
        options.AuthVerificationWait = auth.MaxVerificationWait ?? options.AuthVerificationWait;
        options.MaxAuthFailuresPerMinute = auth.MaxFailuresPerMinute ?? options.MaxAuthFailuresPerMinute;
    }

    public void Configure(SpoolOptions options)
    {
        SpoolSection spool = section.CurrentValue.Spool;
        options.Path = Path.GetFullPath(spool.Path is { Length: > 0 } path ? path : options.Path);
        if (!string.IsNullOrWhiteSpace(spool.Durability))
        {
            options.Durability = ConfigurationValues.ParseName<SpoolDurability>(spool.Durability, "Mta:Spool:Durability",
                "Commit or Relaxed");
        }
    }

    public void Configure(QueueOptions options)
    {
        MtaSection mta = section.CurrentValue;
        QueueSection queue = mta.Queue;
        if (queue.RetrySchedule is { Length: > 0 } schedule)
        {
            options.RetrySchedule = QueueOptions.ParseSchedule(schedule);
        }

        options.MaxAge = queue.MaxAge ?? options.MaxAge;
        options.MaxRecipientsPerTransaction = DeliveryKeys.MaxRecipientsPerTransaction(queue);
        options.CopyForwardDistance = queue.CopyForwardDistance ?? options.CopyForwardDistance;
        options.MaxConcurrencyPerDestination = DeliveryKeys.Read(mta.Delivery, configuration).MaxDeliveriesPerDestination;
        options.MaxDeliveriesInFlight = mta.Delivery.MaxDeliveriesInFlight ?? options.MaxDeliveriesInFlight;
        options.Paused = mta.Delivery.Paused ?? options.Paused;
        options.ReportingMta = mta.ResolvedHostname;
    }

    public void Configure(OutboundOptions options)
    {
        MtaSection mta = section.CurrentValue;
        DeliverySection delivery = mta.Delivery;
        options.EhloName = delivery.EhloName is { Length: > 0 } ehlo ? ehlo : mta.ResolvedHostname;
        ConnectionLimits limits = DeliveryKeys.Read(delivery, configuration);
        options.MessagesPerConnection = limits.DefaultRuleMaxMessagesPerConnection; // the default rule's, handed to the pool
        options.IdleTimeout = delivery.IdleTimeout ?? options.IdleTimeout;
        options.ConnectTimeout = delivery.ConnectTimeout ?? options.ConnectTimeout;
        options.MaxConnectionsPerHost = limits.MaxConnectionsPerHost;
        if (delivery.Tls is { Length: > 0 } tls)
        {
            options.Tls = Enum.Parse<OutboundTlsMode>(tls, ignoreCase: true); // checked by MtaSectionValidator
        }

        options.VerifyCertificate = delivery.VerifyCertificate ?? options.VerifyCertificate;
        if (delivery.SourceAddress is { Length: > 0 } source)
        {
            options.SourceAddress = IPAddress.Parse(source); // checked by MtaSectionValidator
        }
    }

    public void Configure(DnsOptions options)
    {
        DnsSection dns = section.CurrentValue.Dns;
        List<string> servers = ConfigurationValues.ReadList(configuration.GetSection("Mta:Dns:Servers")); // empty: the system's resolvers
        foreach (string server in servers)
        {
            try
            {
                DnsOptions.ParseServer(server);
            }
            catch (FormatException e)
            {
                throw new InvalidOperationException($"Mta:Dns:Servers: {e.Message}", e);
            }
        }

        options.Servers = servers;
        options.Timeout = dns.Timeout ?? options.Timeout;
        options.Retries = dns.Retries ?? options.Retries;
    }

    private static X509Certificate2 LoadCertificate(TlsSection tls, string hostname)
    {
        try
        {
            return TlsCertificate.Load(tls.CertificatePath, tls.CertificatePassword, hostname, out _);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Mta:Tls:CertificatePath = '{tls.CertificatePath}' cannot be loaded: {e.Message}", e);
        }
    }
}
