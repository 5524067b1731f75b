namespace FastMta.Shaping;

/// <summary>
/// Finds the rule for (domain, site): exact domain, else the longest domain suffix, else the longest MX host suffix
/// over every host in the site, else the default. Suffix candidates are spans of the input looked up through
/// Dictionary alternate lookups, so matching allocates nothing; cost is one lookup per label.
/// </summary>
internal sealed class RuleMatcher
{
    private readonly Dictionary<string, CompiledRule>.AlternateLookup<ReadOnlySpan<char>> _domains;
    private readonly Dictionary<string, CompiledRule>.AlternateLookup<ReadOnlySpan<char>> _suffixes;
    private readonly Dictionary<string, CompiledRule>.AlternateLookup<ReadOnlySpan<char>> _mxSuffixes;
    private readonly CompiledRule _default;

    public RuleMatcher(IEnumerable<CompiledRule> rules, CompiledRule defaultRule)
    {
        var domains = new Dictionary<string, CompiledRule>(StringComparer.OrdinalIgnoreCase);
        var suffixes = new Dictionary<string, CompiledRule>(StringComparer.OrdinalIgnoreCase);
        var mxSuffixes = new Dictionary<string, CompiledRule>(StringComparer.OrdinalIgnoreCase);
        foreach (CompiledRule rule in rules)
        {
            ShapingMatch match = rule.Options.Match;
            Add(domains, match.Domains, rule);
            Add(suffixes, match.DomainSuffixes, rule);
            Add(mxSuffixes, match.MxSuffixes, rule);
        }

        _domains = domains.GetAlternateLookup<ReadOnlySpan<char>>();
        _suffixes = suffixes.GetAlternateLookup<ReadOnlySpan<char>>();
        _mxSuffixes = mxSuffixes.GetAlternateLookup<ReadOnlySpan<char>>();
        _default = defaultRule;
    }

    public CompiledRule Match(ReadOnlySpan<char> domain, ReadOnlySpan<char> site, out bool matchedByMx)
    {
        matchedByMx = false;
        domain = domain.Trim().TrimEnd('.');
        if (_domains.TryGetValue(domain, out CompiledRule? rule) || TryLongestSuffix(_suffixes, domain, out rule, out _))
        {
            return rule;
        }

        CompiledRule? best = null;
        int bestLength = 0;
        foreach (Range range in site.Split(','))
        {
            ReadOnlySpan<char> host = site[range].Trim().TrimEnd('.');
            if (TryLongestSuffix(_mxSuffixes, host, out CompiledRule? candidate, out int length) && length > bestLength)
            {
                best = candidate;
                bestLength = length;
            }
        }

        matchedByMx = best is not null;
        return best ?? _default;
    }

    private static bool TryLongestSuffix(
        Dictionary<string, CompiledRule>.AlternateLookup<ReadOnlySpan<char>> suffixes, ReadOnlySpan<char> name,
        out CompiledRule rule, out int length)
    {
        if (suffixes.Dictionary.Count != 0)
        {
            // Leftmost dot first: the longest suffix wins.
            for (int i = name.IndexOf('.'); i >= 0; i = NextDot(name, i))
            {
                if (suffixes.TryGetValue(name[i..], out CompiledRule? found))
                {
                    rule = found;
                    length = name.Length - i;
                    return true;
                }
            }
        }

        rule = null!;
        length = 0;
        return false;
    }

    private static int NextDot(ReadOnlySpan<char> name, int dot)
    {
        int next = name[(dot + 1)..].IndexOf('.');
        return next < 0 ? -1 : dot + 1 + next;
    }

    private static void Add(Dictionary<string, CompiledRule> map, List<string>? names, CompiledRule rule)
    {
        foreach (string name in names ?? [])
        {
            map[name.Trim().TrimEnd('.')] = rule;
        }
    }
}
