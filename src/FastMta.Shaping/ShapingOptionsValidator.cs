using System.Globalization;

namespace FastMta.Shaping;

/// <summary>Checks <see cref="ShapingOptions"/>; the first problem found is thrown as a
/// <see cref="ShapingOptionsException"/> naming the field path inside the options.</summary>
internal static class ShapingOptionsValidator
{
    private static readonly ShapingFieldSegment DefaultRule = new(nameof(ShapingOptions.DefaultRule));
    private static readonly ShapingFieldSegment Match = new(nameof(ShapingRule.Match));

    public static void Validate(ShapingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sources = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var ruleNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ShapingRule.DefaultName };
        List<ShapingRule> rules = options.Rules ?? [];
        for (int i = 0; i < rules.Count; i++)
        {
            ShapingRule rule = rules[i];
            Require(rule is not null && !string.IsNullOrWhiteSpace(rule.Name), [Entry(nameof(ShapingOptions.Rules), i)], "needs a Name.");
            Require(ruleNames.Add(rule!.Name), [Rule(rule)], "has a name used twice (\"default\" is the DefaultRule's).");
        }

        List<EgressSource> configuredSources = options.Sources ?? [];
        for (int i = 0; i < configuredSources.Count; i++)
        {
            EgressSource source = configuredSources[i];
            Require(source is not null && !string.IsNullOrWhiteSpace(source.Name), [Entry(nameof(ShapingOptions.Sources), i)], "needs a Name.");
            var at = new ShapingFieldSegment(nameof(ShapingOptions.Sources), source!.Name);
            Require(sources.Add(source.Name), [at], "has a name used twice.");
            if (source.Warmup is { } plan)
            {
                var warmup = new ShapingFieldSegment(nameof(EgressSource.Warmup));
                ValidateCaps(plan.DailyCaps, [at, warmup, new(nameof(WarmupPlan.DailyCaps))]);
                ValidateCaps(plan.HourlyCaps, [at, warmup, new(nameof(WarmupPlan.HourlyCaps))]);
                foreach ((string section, Dictionary<string, List<int>>? byRule) in new[]
                         {
                             (nameof(WarmupPlan.RuleCaps), plan.RuleCaps), (nameof(WarmupPlan.RuleHourlyCaps), plan.RuleHourlyCaps),
                         })
                {
                    foreach ((string rule, List<int> caps) in byRule ?? [])
                    {
                        ShapingFieldSegment[] path = [at, warmup, new(section, rule)];
                        Require(ruleNames.Contains(rule), path, "names no rule.");
                        ValidateCaps(caps, path);
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
        List<EgressPool> configuredPools = options.Pools ?? [];
        for (int i = 0; i < configuredPools.Count; i++)
        {
            EgressPool pool = configuredPools[i];
            Require(pool is not null && !string.IsNullOrWhiteSpace(pool.Name), [Entry(nameof(ShapingOptions.Pools), i)], "needs a Name.");
            var at = new ShapingFieldSegment(nameof(ShapingOptions.Pools), pool!.Name);
            var members = new ShapingFieldSegment(nameof(EgressPool.Members));
            Require(seenPools.Add(pool.Name), [at], "has a name used twice.");
            pools.Add(pool.Name);
            Require(pool.Members is { Count: > 0 }, [at, members], "needs at least one source.");
            Require(pool.Members!.Count <= EgressPool.MaxMembers, [at, members], $"has more than {EgressPool.MaxMembers} sources.");
            var listed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            for (int m = 0; m < pool.Members.Count; m++)
            {
                PoolMember member = pool.Members[m];
                Require(member is not null && !string.IsNullOrWhiteSpace(member.SourceName), [at, Entry(nameof(EgressPool.Members), m)], "needs a SourceName.");
                var entry = new ShapingFieldSegment(nameof(EgressPool.Members), member!.SourceName);
                Require(sources.Contains(member.SourceName), [at, entry], $"names no source in {nameof(ShapingOptions.Sources)}.");
                Require(listed.Add(member.SourceName), [at, entry], "is listed twice.");
                Require(member.Weight is > 0 and <= 1_000_000, [at, entry, new(nameof(PoolMember.Weight))], "must be 1..1000000.");
            }
        }

        if (!seenPools.Contains(EgressPool.DefaultName))
        {
            Require(sources.Count <= EgressPool.MaxMembers, [new(nameof(ShapingOptions.Pools), EgressPool.DefaultName)],
                $"would hold every source, more than {EgressPool.MaxMembers}: configure it explicitly.");
        }

        foreach ((string domain, string pool) in options.SenderDomainPools ?? [])
        {
            Require(pools.Contains(pool ?? string.Empty), [new(nameof(ShapingOptions.SenderDomainPools), domain)],
                $"names '{pool}', which is no pool in {nameof(ShapingOptions.Pools)}.");
        }

        Require(options.DefaultRule is not null, [DefaultRule], "must be set.");
        Require(options.DefaultRule!.Match is null || options.DefaultRule.Match.IsEmpty, [DefaultRule, Match],
            "must be empty: the default rule matches what no other rule does.");
        ValidateLimits(options.DefaultRule, DefaultRule);

        var matched = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (ShapingRule rule in rules)
        {
            ShapingFieldSegment at = Rule(rule);
            ValidateLimits(rule, at);
            Require(rule.Match is not null && !rule.Match.IsEmpty, [at, Match], "needs Domains, DomainSuffixes or MxSuffixes.");
            ValidateNames(rule.Match!.Domains, [at, Match, new(nameof(ShapingMatch.Domains))], suffix: false, "domain:", rule.Name, matched);
            ValidateNames(rule.Match.DomainSuffixes, [at, Match, new(nameof(ShapingMatch.DomainSuffixes))], suffix: true, "suffix:", rule.Name, matched);
            ValidateNames(rule.Match.MxSuffixes, [at, Match, new(nameof(ShapingMatch.MxSuffixes))], suffix: true, "mx:", rule.Name, matched);
        }
    }

    private static ShapingFieldSegment Rule(ShapingRule rule) => new(nameof(ShapingOptions.Rules), rule.Name);

    private static ShapingFieldSegment Entry(string member, int index) => new(member, index.ToString(CultureInfo.InvariantCulture));


    private static void ValidateLimits(ShapingRule rule, ShapingFieldSegment at)
    {
        Positive(rule.MessagesPerSecond, [at, new(nameof(ShapingRule.MessagesPerSecond))]);
        Positive(rule.MessagesPerMinute, [at, new(nameof(ShapingRule.MessagesPerMinute))]);
        Positive(rule.MessagesPerHour, [at, new(nameof(ShapingRule.MessagesPerHour))]);
        Positive(rule.Burst, [at, new(nameof(ShapingRule.Burst))]);
        Positive(rule.MaxConnections, [at, new(nameof(ShapingRule.MaxConnections))]);
        Positive(rule.MaxMessagesPerConnection, [at, new(nameof(ShapingRule.MaxMessagesPerConnection))]);
        Positive(rule.MaxRecipientsPerTransaction, [at, new(nameof(ShapingRule.MaxRecipientsPerTransaction))]);
        Positive(rule.ConnectionsPerMinute, [at, new(nameof(ShapingRule.ConnectionsPerMinute))]);
        if (rule.SourceTotal is { } total)
        {
            var sourceTotal = new ShapingFieldSegment(nameof(ShapingRule.SourceTotal));
            Positive(total.MessagesPerSecond, [at, sourceTotal, new(nameof(SourceTotalLimits.MessagesPerSecond))]);
            Positive(total.MessagesPerMinute, [at, sourceTotal, new(nameof(SourceTotalLimits.MessagesPerMinute))]);
            Positive(total.MessagesPerHour, [at, sourceTotal, new(nameof(SourceTotalLimits.MessagesPerHour))]);
            Positive(total.Burst, [at, sourceTotal, new(nameof(SourceTotalLimits.Burst))]);
            Positive(total.MaxConnections, [at, sourceTotal, new(nameof(SourceTotalLimits.MaxConnections))]);
        }
    }

    private static void ValidateNames(List<string>? names, ShapingFieldSegment[] path, bool suffix, string kind, string rule, Dictionary<string, string> matched)
    {
        foreach (string name in names ?? [])
        {
            string trimmed = (name ?? string.Empty).Trim().TrimEnd('.');
            Require(trimmed.Length > 0 && !trimmed.Contains(',') && !trimmed.Contains(' '), path, $"entry '{name}' is not a host name.");
            if (suffix)
            {
                Require(trimmed.Length > 1 && trimmed[0] == '.' && trimmed[1] != '.', path, $"entry '{name}' must start with one dot, e.g. \".example.com\".");
            }
            else
            {
                Require(trimmed[0] != '.', path, $"entry '{name}' is a suffix; list it under DomainSuffixes.");
            }

            Require(matched.TryAdd(kind + trimmed, rule), path, $"entry '{name}' is already matched by rule '{matched.GetValueOrDefault(kind + trimmed)}'.");
        }
    }

    private static void ValidateCaps(List<int>? caps, ShapingFieldSegment[] path)
    {
        Require(caps is not null, path, "must be a list.");
        for (int i = 0; i < caps!.Count; i++)
        {
            Require(caps[i] >= 0, [.. path, ShapingFieldSegment.Index(i)], "must not be negative.");
        }
    }

    private static void Positive(int? value, ShapingFieldSegment[] path) => Require(value is null or > 0, path, "must be positive.");

    private static void Require(bool condition, ShapingFieldSegment[] path, string problem)
    {
        if (!condition)
        {
            throw new ShapingOptionsException(path, problem);
        }
    }
}
