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
        services.AddSingleton<IValidateOptions<QueueOptions>>(new LibraryValidation<QueueOptions>(q => q.Validate(), QueueKey));
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

    // QueueOptions.Validate names its fields; the configuration key of each, for the operator.
    private static readonly (string Field, string Key)[] QueueKeys =
    [
        (nameof(QueueOptions.RetrySchedule), "Mta:Queue:RetrySchedule"),
        (nameof(QueueOptions.MaxAge), "Mta:Queue:MaxAge"),
        (nameof(QueueOptions.MaxRecipientsPerTransaction), "Mta:Queue:MaxRecipientsPerTransaction"),
        (nameof(QueueOptions.MaxConcurrencyPerDestination), "Mta:Delivery:MaxDeliveriesPerDestination"),
        (nameof(QueueOptions.MaxDeliveriesInFlight), "Mta:Delivery:MaxDeliveriesInFlight"),
        (nameof(QueueOptions.CopyForwardDistance), "Mta:Queue:CopyForwardDistance"),
        (nameof(QueueOptions.ReportingMta), "Mta:Hostname"),
    ];

    private static string QueueKey(string message)
    {
        foreach ((string field, string key) in QueueKeys)
        {
            if (message.StartsWith(field + " ", StringComparison.Ordinal))
            {
                return key + message[field.Length..];
            }
        }

        return "Mta:Queue: " + message;
    }

    /// <summary>A library's own Validate(); <paramref name="describe"/> turns its message (naming a field) into one
    /// naming the configuration key.</summary>
    private sealed class LibraryValidation<T>(Action<T> validate, Func<string, string> describe) : IValidateOptions<T> where T : class
    {
        public LibraryValidation(Action<T> validate, string prefix)
            : this(validate, message => prefix + message)
        {
        }

        public ValidateOptionsResult Validate(string? name, T options)
        {
            try
            {
                validate(options);
                return ValidateOptionsResult.Success;
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                return ValidateOptionsResult.Fail(describe(e.Message));
            }
        }
    }
}
