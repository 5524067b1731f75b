namespace FastMta.Shaping;

/// <summary>An immutable, validated view of <see cref="ShapingOptions"/>; a reload swaps in a new one atomically.</summary>
internal sealed class CompiledConfig
{
    public CompiledConfig(ShapingOptions options, Func<string, SourceRuntime> runtime, long frequency)
    {
        options.Validate();
        List<EgressSource> sources = options.Sources is { Count: > 0 } configured
            ? configured
            : [new EgressSource { Name = EgressSource.DefaultName }];
        Sources = sources.ToDictionary(s => s.Name, s => new CompiledSource(s, runtime(s.Name)), StringComparer.OrdinalIgnoreCase);

        Default = new CompiledRule(options.DefaultRule, options.DefaultRule, isDefault: true, frequency);
        Rules = new Dictionary<string, CompiledRule>(StringComparer.OrdinalIgnoreCase) { [Default.Name] = Default };
        foreach (ShapingRule rule in options.Rules ?? [])
        {
            Rules[rule.Name] = new CompiledRule(rule, options.DefaultRule, isDefault: false, frequency);
        }

        Matcher = new RuleMatcher(Rules.Values.Where(r => !r.IsDefault), Default);

        Pools = new Dictionary<string, CompiledPool>(StringComparer.OrdinalIgnoreCase);
        foreach (EgressPool pool in options.Pools ?? [])
        {
            Pools[pool.Name] = new CompiledPool(pool.Name,
                [.. pool.Members.Select(m => Sources[m.SourceName])], [.. pool.Members.Select(m => m.Weight)]);
        }

        if (!Pools.ContainsKey(EgressPool.DefaultName))
        {
            Pools[EgressPool.DefaultName] = new CompiledPool(EgressPool.DefaultName,
                [.. sources.Select(s => Sources[s.Name])], [.. sources.Select(_ => 1)]);
        }

        SenderDomainPools = new Dictionary<string, string>(options.SenderDomainPools ?? [], StringComparer.OrdinalIgnoreCase);
    }

    public Dictionary<string, CompiledSource> Sources { get; }

    public Dictionary<string, CompiledRule> Rules { get; }

    public CompiledRule Default { get; }

    public RuleMatcher Matcher { get; }

    public Dictionary<string, CompiledPool> Pools { get; }

    public Dictionary<string, string> SenderDomainPools { get; }
}
