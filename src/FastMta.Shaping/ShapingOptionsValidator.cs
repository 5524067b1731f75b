namespace FastMta.Shaping;

/// <summary>Checks <see cref="ShapingOptions"/>; every message starts with the configuration key at fault.</summary>
internal static class ShapingOptionsValidator
{
    public const string SourcesKey = "Mta:Egress:Sources";
    public const string PoolsKey = "Mta:Egress:Pools";
    public const string SenderDomainPoolsKey = "Mta:Egress:SenderDomainPools";
    public const string RulesKey = "Mta:Shaping:Rules";
    public const string DefaultRuleKey = "Mta:Shaping:DefaultRule";

    public static void Validate(ShapingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sources = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var ruleNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ShapingRule.DefaultName };
        foreach (ShapingRule rule in options.Rules ?? [])
        {
            Require(rule is not null && !string.IsNullOrWhiteSpace(rule.Name), $"{RulesKey}: every rule needs a Name.");
            Require(ruleNames.Add(rule!.Name), $"{RulesKey}:{rule.Name}: the name is used twice (\"default\" is the DefaultRule's).");
        }

        foreach (EgressSource source in options.Sources ?? [])
        {
            Require(source is not null && !string.IsNullOrWhiteSpace(source.Name), $"{SourcesKey}: every source needs a Name.");
            string key = $"{SourcesKey}:{source!.Name}";
            Require(sources.Add(source.Name), $"{key}: the name is used twice.");
            if (source.Warmup is { } plan)
            {
                ValidateCaps(plan.DailyCaps, $"{key}:Warmup:DailyCaps");
                ValidateCaps(plan.HourlyCaps, $"{key}:Warmup:HourlyCaps");
                foreach ((string section, Dictionary<string, List<int>>? byRule) in new[] { ("RuleCaps", plan.RuleCaps), ("RuleHourlyCaps", plan.RuleHourlyCaps) })
                {
                    foreach ((string rule, List<int> caps) in byRule ?? [])
                    {
                        Require(ruleNames.Contains(rule), $"{key}:Warmup:{section}:{rule} names no rule.");
                        ValidateCaps(caps, $"{key}:Warmup:{section}:{rule}");
                    }
                }
            }
        }

        if (sources.Count == 0)
        {
            sources.Add(EgressSource.DefaultName);
        }

        var pools = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { EgressPool.DefaultName };
        var seenPools = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (EgressPool pool in options.Pools ?? [])
        {
            Require(pool is not null && !string.IsNullOrWhiteSpace(pool.Name), $"{PoolsKey}: every pool needs a Name.");
            string key = $"{PoolsKey}:{pool!.Name}";
            Require(seenPools.Add(pool.Name), $"{key}: the name is used twice.");
            pools.Add(pool.Name);
            Require(pool.Members is { Count: > 0 }, $"{key}:Members needs at least one source.");
            Require(pool.Members!.Count <= EgressPool.MaxMembers, $"{key}:Members has more than {EgressPool.MaxMembers} sources.");
            var members = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (PoolMember member in pool.Members)
            {
                Require(member is not null && sources.Contains(member.SourceName ?? string.Empty),
                    $"{key}:Members: '{member?.SourceName}' is not a source under {SourcesKey}.");
                Require(members.Add(member!.SourceName!), $"{key}:Members lists '{member.SourceName}' twice.");
                Require(member.Weight is > 0 and <= 1_000_000, $"{key}:Members:{member.SourceName}:Weight must be 1..1000000.");
            }
        }

        if (!seenPools.Contains(EgressPool.DefaultName))
        {
            Require(sources.Count <= EgressPool.MaxMembers,
                $"{PoolsKey}:{EgressPool.DefaultName}: more than {EgressPool.MaxMembers} sources; configure the default pool explicitly.");
        }

        foreach ((string domain, string pool) in options.SenderDomainPools ?? [])
        {
            Require(pools.Contains(pool ?? string.Empty), $"{SenderDomainPoolsKey}:{domain}: '{pool}' is not a pool under {PoolsKey}.");
        }

        Require(options.DefaultRule is not null, $"{DefaultRuleKey} must be set.");
        Require(options.DefaultRule!.Match is null || options.DefaultRule.Match.IsEmpty, $"{DefaultRuleKey}:Match must be empty: the default rule matches what no other rule does.");
        ValidateLimits(options.DefaultRule, DefaultRuleKey);

        var matched = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (ShapingRule rule in options.Rules ?? [])
        {
            string key = $"{RulesKey}:{rule.Name}";
            ValidateLimits(rule, key);
            Require(rule.Match is not null && !rule.Match.IsEmpty, $"{key}:Match needs Domains, DomainSuffixes or MxSuffixes.");
            ValidateNames(rule.Match!.Domains, $"{key}:Match:Domains", suffix: false, "domain:", rule.Name, matched);
            ValidateNames(rule.Match.DomainSuffixes, $"{key}:Match:DomainSuffixes", suffix: true, "suffix:", rule.Name, matched);
            ValidateNames(rule.Match.MxSuffixes, $"{key}:Match:MxSuffixes", suffix: true, "mx:", rule.Name, matched);
        }
    }

    private static void ValidateLimits(ShapingRule rule, string key)
    {
        Positive(rule.MessagesPerSecond, $"{key}:MessagesPerSecond");
        Positive(rule.MessagesPerMinute, $"{key}:MessagesPerMinute");
        Positive(rule.MessagesPerHour, $"{key}:MessagesPerHour");
        Positive(rule.Burst, $"{key}:Burst");
        Positive(rule.MaxConnections, $"{key}:MaxConnections");
        Positive(rule.MaxMessagesPerConnection, $"{key}:MaxMessagesPerConnection");
        Positive(rule.MaxRecipientsPerTransaction, $"{key}:MaxRecipientsPerTransaction");
        Positive(rule.ConnectionsPerMinute, $"{key}:ConnectionsPerMinute");
        if (rule.SourceTotal is { } total)
        {
            Positive(total.MessagesPerSecond, $"{key}:SourceTotal:MessagesPerSecond");
            Positive(total.MessagesPerMinute, $"{key}:SourceTotal:MessagesPerMinute");
            Positive(total.MessagesPerHour, $"{key}:SourceTotal:MessagesPerHour");
            Positive(total.Burst, $"{key}:SourceTotal:Burst");
            Positive(total.MaxConnections, $"{key}:SourceTotal:MaxConnections");
        }
    }

    private static void ValidateNames(List<string>? names, string key, bool suffix, string kind, string rule, Dictionary<string, string> matched)
    {
        foreach (string name in names ?? [])
        {
            string trimmed = (name ?? string.Empty).Trim().TrimEnd('.');
            Require(trimmed.Length > 0 && !trimmed.Contains(',') && !trimmed.Contains(' '), $"{key}: '{name}' is not a host name.");
            if (suffix)
            {
                Require(trimmed.Length > 1 && trimmed[0] == '.' && trimmed[1] != '.', $"{key}: '{name}' must start with one dot, e.g. \".example.com\".");
            }
            else
            {
                Require(trimmed[0] != '.', $"{key}: '{name}' is a suffix; list it under DomainSuffixes.");
            }

            Require(matched.TryAdd(kind + trimmed, rule), $"{key}: '{name}' is already matched by rule '{matched.GetValueOrDefault(kind + trimmed)}'.");
        }
    }

    private static void ValidateCaps(List<int>? caps, string key)
    {
        Require(caps is not null, $"{key} must be a list.");
        for (int i = 0; i < caps!.Count; i++)
        {
            Require(caps[i] >= 0, $"{key}:{i} must not be negative.");
        }
    }

    private static void Positive(int? value, string key) => Require(value is null or > 0, $"{key} must be positive.");

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
