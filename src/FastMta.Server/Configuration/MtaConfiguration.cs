using FastMta.Inbound;
using FastMta.Outbound;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Shaping;
using FastMta.Spool;
using Microsoft.Extensions.Options;

namespace FastMta.Server.Configuration;

/// <summary>
/// Registers configuration through the options pattern: the section <c>Mta</c> bound onto <see cref="MtaSection"/> and
/// validated (<see cref="MtaSectionValidator"/>), the libraries' options mapped from it (<see cref="MtaOptionsSetup"/>,
/// <see cref="ShapingConfiguration"/>) and checked by their own rules, every one of them ValidateOnStart, and
/// <see cref="MtaSettings"/> built from them (<see cref="MtaSettings.Create"/>). Program resolves them while the host
/// is built, before anything starts, so that invalid configuration exits with code 2 and the key named.
/// </summary>
internal static class MtaConfiguration
{
    public static IServiceCollection AddMtaConfiguration(this IServiceCollection services, IConfiguration configuration)
    {
        // The framework's binder, without OptionsBuilder.Bind's change-token source: the section is read once, at
        // start-up, as before (only the shaping keys are re-read on reload, by DeliveryService). With the source,
        // IOptionsMonitor would re-bind and re-validate inside the configuration's change callback, and an invalid
        // edit of a running server's file would throw on the reload thread instead of waiting for the next start.
        services.AddOptions<MtaSection>()
            .Configure(section => configuration.GetSection(MtaSection.Name).Bind(section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<MtaSection>, MtaSectionValidator>();

        services.AddSingleton<MtaOptionsSetup>();
        AddMapped<InboundOptions>(services);
        AddMapped<SpoolOptions>(services);
        AddMapped<QueueOptions>(services);
        AddMapped<OutboundOptions>(services);
        AddMapped<DnsOptions>(services);
        services.AddSingleton<IValidateOptions<QueueOptions>>(new LibraryValidation<QueueOptions>(q => q.Validate()));
        services.AddSingleton<IValidateOptions<DnsOptions>>(new LibraryValidation<DnsOptions>(d => d.Validate(), "Mta:Dns: "));

        services.AddSingleton<ShapingConfiguration>();
        services.AddSingleton<IConfigureOptions<ShapingOptions>>(sp => sp.GetRequiredService<ShapingConfiguration>());
        services.AddSingleton<IValidateOptions<ShapingOptions>>(sp => sp.GetRequiredService<ShapingConfiguration>());
        services.AddOptions<ShapingOptions>().ValidateOnStart();

        services.AddSingleton(MtaSettings.Create);
        return services;
    }

    private static void AddMapped<T>(IServiceCollection services) where T : class
    {
        services.AddSingleton<IConfigureOptions<T>>(sp => (IConfigureOptions<T>)(object)sp.GetRequiredService<MtaOptionsSetup>());
        services.AddOptions<T>().ValidateOnStart();
    }

    /// <summary>A library's own Validate(), whose messages name the keys already (or after <paramref name="prefix"/>).</summary>
    private sealed class LibraryValidation<T>(Action<T> validate, string prefix = "") : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            try
            {
                validate(options);
                return ValidateOptionsResult.Success;
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                return ValidateOptionsResult.Fail(prefix + e.Message);
            }
        }
    }
}
