using System.Globalization;
using System.Net;
using FastMta.Shaping;
using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

/// <summary>Traffic shaping (Mta:Egress for sources, pools and sender-domain pools; Mta:Shaping for rules), bound
/// into the shaping library's options and validated. Re-read on configuration reload by <see cref="DeliveryService"/>.</summary>
internal sealed class ShapingSettings
{
    public required ShapingOptions Options { get; init; }
}

internal sealed partial class MtaSettings
{
    public required ShapingSettings Shaping { get; init; }

    /// <summary>
    /// Re-reads Mta:Egress and Mta:Shaping after a configuration reload. Keeps what start-up fixed (the host name);
    /// throws <see cref="InvalidOperationException"/> naming the key when the new configuration is invalid.
    /// </summary>
    public ShapingSettings ReloadShaping(IConfiguration configuration)
    {
        IConfigurationSection mta = configuration.GetSection("Mta");
        return LoadShaping(mta, Delivery.Outbound.EhloName);
    }

    private static ShapingSettings LoadShaping(IConfigurationSection mta, string defaultEhloName)
    {
        var options = new ShapingOptions();

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
                Domains = ReadList(rule.GetSection("Domains"), []),
                DomainSuffixes = ReadList(rule.GetSection("DomainSuffixes"), []),
                MxSuffixes = ReadList(rule.GetSection("MxSuffixes"), []),
            };
            shapingRule.PerDomain = GetBool(rule, "PerDomain");
            options.Rules.Add(shapingRule);
        }

        // Connections and messages per connection come with their deprecated aliases; recipients per transaction is the
        // queue's, so that by default the rule does not split further.
        ConnectionLimitSettings limits = ConnectionLimitSettings.Read(mta);
        options.DefaultRule = LoadLimits(mta.GetSection("Shaping:Default"), new ShapingRule
        {
            Name = ShapingRule.DefaultName,
            MaxConnections = limits.DefaultRuleMaxConnections,
            MaxMessagesPerConnection = limits.DefaultRuleMaxMessagesPerConnection,
            MaxRecipientsPerTransaction = (int)GetLong(mta.GetSection("Queue"), "MaxRecipientsPerTransaction", 100, min: 1),
        });

        try
        {
            options.Validate();
        }
        catch (ShapingOptionsException e)
        {
            throw new InvalidOperationException(ShapingConfigurationKeys.Describe(e), e); // the key, not the field path
        }

        return new ShapingSettings { Options = options };
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
        ReadList(section, []).Select(text => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int cap)
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
    private static int? GetInt(IConfigurationSection section, string? key, int min)
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
