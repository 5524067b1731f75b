using System.Globalization;
using System.Net;
using FastMta.Outbound;
using FastMta.Shaping;
using Microsoft.Extensions.Options;

namespace FastMta.Server.Configuration;

/// <summary>
/// Traffic shaping through the options pattern: <see cref="ShapingOptions"/> is read from Mta:Egress (sources, pools,
/// sender-domain pools) and Mta:Shaping (rules) and validated at start-up; <c>MtaSettings.ReloadShaping</c> reads it
/// again after a configuration reload.
/// The keys are read by hand, not bound: they are names (sources, pools, rules) holding list keys that may be one
/// comma-separated value (which the binder cannot split), pool members are source names with a weight as the value,
/// and a rule's keys are flat where <see cref="ShapingRule"/> nests them (Match); a section-shaped copy of the whole
/// shaping model for the binder would be a second definition of it to keep in step. Reload does not go through
/// <see cref="IOptionsMonitor{TOptions}"/>: the monitor re-creates the options inside the configuration's change
/// callback, where an invalid edit would throw on the reload thread instead of being logged and ignored.
/// </summary>
internal sealed class ShapingConfiguration(IConfiguration configuration, IOptionsMonitor<OutboundOptions> outbound)
    : IConfigureOptions<ShapingOptions>, IValidateOptions<ShapingOptions>
{
    // Sources without an EhloName of their own say the outbound one (Mta:Delivery:EhloName, else the host name).
    public void Configure(ShapingOptions options) => Read(configuration, outbound.CurrentValue.EhloName, options);

    // Throws rather than returning a failure: an OptionsValidationException carries only messages, and the start-up
    // error keeps the library's ShapingOptionsException (field path, segments, problem) as its inner exception.
    public ValidateOptionsResult Validate(string? name, ShapingOptions options)
    {
        ThrowIfInvalid(options);
        return ValidateOptionsResult.Success;
    }

    /// <summary>Reads Mta:Egress and Mta:Shaping into <paramref name="options"/>; throws <see cref="InvalidOperationException"/>
    /// naming the key for a value that does not parse (what parses is checked by <see cref="Validate"/>).</summary>
    public static void Read(IConfiguration configuration, string defaultEhloName, ShapingOptions options)
    {
        IConfigurationSection mta = configuration.GetSection(MtaSection.Name);
        options.Sources.Clear();
        options.Pools.Clear();
        options.Rules.Clear();
        options.SenderDomainPools.Clear();

        foreach (IConfigurationSection source in mta.GetSection("Egress:Sources").GetChildren())
        {
            string key = source.Path;
            string? text = source["Address"];
            IPAddress? address = string.IsNullOrEmpty(text) ? null
                : IPAddress.TryParse(text, out IPAddress? parsed) ? parsed
                : throw new InvalidOperationException($"{key}:Address = '{text}' is not an IP address.");
            options.Sources.Add(new EgressSource
            {
                Name = source.Key,
                Address = address,
                EhloName = source["EhloName"] is { Length: > 0 } ehlo ? ehlo : defaultEhloName,
                Warmup = LoadWarmup(source.GetSection("Warmup")),
            });
        }

        foreach (IConfigurationSection pool in mta.GetSection("Egress:Pools").GetChildren())
        {
            var egressPool = new EgressPool { Name = pool.Key };
            foreach (IConfigurationSection member in pool.GetChildren())
            {
                egressPool.Members.Add(new PoolMember { SourceName = member.Key, Weight = GetInt(member, null, min: 1) ?? 1 });
            }

            options.Pools.Add(egressPool);
        }

        foreach (IConfigurationSection mapping in mta.GetSection("Egress:SenderDomainPools").GetChildren())
        {
            options.SenderDomainPools[mapping.Key.Trim().TrimEnd('.')] = mapping.Value ?? string.Empty;
        }

        foreach (IConfigurationSection rule in mta.GetSection("Shaping:Rules").GetChildren())
        {
            ShapingRule shapingRule = LoadLimits(rule, new ShapingRule { Name = rule.Key });
            shapingRule.Match = new ShapingMatch
            {
                Domains = ConfigurationValues.ReadList(rule.GetSection("Domains")),
                DomainSuffixes = ConfigurationValues.ReadList(rule.GetSection("DomainSuffixes")),
                MxSuffixes = ConfigurationValues.ReadList(rule.GetSection("MxSuffixes")),
            };
            shapingRule.PerDomain = GetBool(rule, "PerDomain");
            options.Rules.Add(shapingRule);
        }

        // Connections and messages per connection come with their deprecated aliases (DeliveryKeys); recipients per
        // transaction is the queue's, so that by default the rule does not split further. Read from the configuration
        // given, so that a reload sees their new values too.
        DeliverySection delivery = mta.GetSection("Delivery").Get<DeliverySection>() ?? new();
        QueueSection queue = mta.GetSection("Queue").Get<QueueSection>() ?? new();
        ConnectionLimits limits = DeliveryKeys.Read(delivery, configuration);
        options.DefaultRule = LoadLimits(mta.GetSection("Shaping:Default"), new ShapingRule
        {
            Name = ShapingRule.DefaultName,
            MaxConnections = limits.DefaultRuleMaxConnections,
            MaxMessagesPerConnection = limits.DefaultRuleMaxMessagesPerConnection,
            MaxRecipientsPerTransaction = DeliveryKeys.MaxRecipientsPerTransaction(queue),
        });
    }

    /// <summary>The library's checks; throws <see cref="InvalidOperationException"/> naming the key as written in
    /// configuration (<see cref="ShapingConfigurationKeys"/>), not the library's field path, with the library's
    /// <see cref="ShapingOptionsException"/> as the inner exception.</summary>
    public static void ThrowIfInvalid(ShapingOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ShapingOptionsException e)
        {
            throw new InvalidOperationException(ShapingConfigurationKeys.Describe(e), e);
        }
    }

    private static WarmupPlan? LoadWarmup(IConfigurationSection warmup)
    {
        if (!warmup.Exists())
        {
            return null;
        }

        string? start = warmup["StartDate"];
        if (string.IsNullOrEmpty(start)
            || !DateOnly.TryParseExact(start, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateOnly startDate))
        {
            throw new InvalidOperationException($"{warmup.Path}:StartDate = '{start}' must be a date (yyyy-MM-dd).");
        }

        var plan = new WarmupPlan
        {
            StartDate = startDate,
            DailyCaps = ReadCaps(warmup.GetSection("DailyCaps")),
            HourlyCaps = ReadCaps(warmup.GetSection("HourlyCaps")),
        };
        foreach (IConfigurationSection rule in warmup.GetSection("RuleCaps").GetChildren())
        {
            plan.RuleCaps[rule.Key] = ReadCaps(rule);
        }

        foreach (IConfigurationSection rule in warmup.GetSection("RuleHourlyCaps").GetChildren())
        {
            plan.RuleHourlyCaps[rule.Key] = ReadCaps(rule);
        }

        return plan;
    }

    private static List<int> ReadCaps(IConfigurationSection section) =>
        ConfigurationValues.ReadList(section).Select(text => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int cap)
                ? cap
                : throw new InvalidOperationException($"{section.Path} entry '{text}' must be a whole number of messages."))
            .ToList();

    // The same limit keys for named rules and the default rule; a key that is not set keeps the value given.
    private static ShapingRule LoadLimits(IConfigurationSection section, ShapingRule rule)
    {
        rule.MessagesPerSecond = GetInt(section, "MessagesPerSecond", min: 1) ?? rule.MessagesPerSecond;
        rule.MessagesPerMinute = GetInt(section, "MessagesPerMinute", min: 1) ?? rule.MessagesPerMinute;
        rule.MessagesPerHour = GetInt(section, "MessagesPerHour", min: 1) ?? rule.MessagesPerHour;
        rule.Burst = GetInt(section, "Burst", min: 1) ?? rule.Burst;
        rule.MaxConnections = GetInt(section, "MaxConnections", min: 1) ?? rule.MaxConnections;
        rule.MaxMessagesPerConnection = GetInt(section, "MaxMessagesPerConnection", min: 1) ?? rule.MaxMessagesPerConnection;
        rule.MaxRecipientsPerTransaction = GetInt(section, "MaxRecipientsPerTransaction", min: 1) ?? rule.MaxRecipientsPerTransaction;
        rule.ConnectionsPerMinute = GetInt(section, "ConnectionsPerMinute", min: 1) ?? rule.ConnectionsPerMinute;
        IConfigurationSection total = section.GetSection("SourceTotal");
        if (total.Exists())
        {
            rule.SourceTotal = new SourceTotalLimits
            {
                MessagesPerSecond = GetInt(total, "MessagesPerSecond", min: 1),
                MessagesPerMinute = GetInt(total, "MessagesPerMinute", min: 1),
                MessagesPerHour = GetInt(total, "MessagesPerHour", min: 1),
                Burst = GetInt(total, "Burst", min: 1),
                MaxConnections = GetInt(total, "MaxConnections", min: 1),
            };
        }

        return rule;
    }

    // An optional int: null when the key is not set. A null key reads the section's own value.
    internal static int? GetInt(IConfigurationSection section, string? key, int min)
    {
        string? text = key is null ? section.Value : section[key];
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        string path = key is null ? section.Path : $"{section.Path}:{key}";
        return int.TryParse(text, NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out int value) && value >= min
            ? value
            : throw new InvalidOperationException($"{path} = '{text}' must be an integer >= {min}.");
    }

    private static bool GetBool(IConfigurationSection section, string key)
    {
        string? text = section[key];
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        return bool.TryParse(text, out bool value)
            ? value
            : throw new InvalidOperationException($"{section.Path}:{key} = '{text}' must be true or false.");
    }
}
