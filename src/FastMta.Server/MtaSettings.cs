using System.Net;
using FastMta.Inbound;
using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Server.Configuration;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Options;

namespace FastMta.Server;

/// <summary>
/// The public configuration contract (section "Mta"; keys documented in the README) as the Server uses it: the
/// libraries' options (bound, mapped and validated through the options pattern, see <see cref="MtaConfiguration"/>)
/// and the Server's own settings. Anything invalid stops start-up with a message naming the key: a relay must not
/// start half-configured.
/// </summary>
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

    /// <summary>
    /// The DI registration of <see cref="MtaSettings"/>: binds and validates the whole Mta section (the framework's
    /// start-up validation of every option registered with ValidateOnStart), then builds the settings from the
    /// validated options. Throws <see cref="InvalidOperationException"/> whose message names the failing keys.
    /// </summary>
    public static MtaSettings Create(IServiceProvider services)
    {
        try
        {
            services.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (OptionsValidationException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        catch (AggregateException e) when (e.InnerExceptions.All(inner => inner is OptionsValidationException))
        {
            // Options mapped from an invalid section fail with the section's own exception: each is said once.
            throw new InvalidOperationException(string.Join(" ", e.InnerExceptions.Distinct().Select(inner => inner.Message)), e);
        }

        IConfiguration configuration = services.GetRequiredService<IConfiguration>();
        MtaSection mta = Current<MtaSection>(services);
        InboundOptions inbound = Current<InboundOptions>(services);
        return new MtaSettings
        {
            Inbound = inbound,
            Spool = Current<SpoolOptions>(services),
            SmtpEndpoints = ConfigurationValues.ReadList(configuration.GetSection("Mta:Smtp:Listen"), MtaSection.DefaultSmtpListen)
                .Select(e => ConfigurationValues.ParseEndpoint(e, "Mta:Smtp:Listen")).ToList(),
            HttpEndpoint = ConfigurationValues.ParseEndpoint(mta.Http.Listen is { Length: > 0 } listen ? listen : HttpSection.DefaultListen,
                "Mta:Http:Listen"),
            CertificateIsSelfSigned = string.IsNullOrEmpty(mta.Tls.CertificatePath),
            PlaintextPasswordUsers = inbound.AuthUsers.Where(u => !PasswordHasher.IsHashed(u.Value)).Select(u => u.Key).ToList(),
            Delivery = ReadDelivery(mta, Current<QueueOptions>(services), Current<OutboundOptions>(services),
                Current<DnsOptions>(services), DeliveryKeys.Read(mta.Delivery, configuration)),
            ApiKeys = ReadApiKeys(mta.Http),
            Webhooks = ReadWebhooks(mta, configuration),
            Injection = InjectionSettings.From(mta.Http, inbound.MaxMessageBytes),
            Shaping = new ShapingSettings { Options = Current<ShapingOptions>(services) },
        };
    }

    // The monitor's instance: the one the start-up validation created and checked (IOptions<T> would create another).
    private static T Current<T>(IServiceProvider services) where T : class =>
        services.GetRequiredService<IOptionsMonitor<T>>().CurrentValue;
}
