namespace FastMta.Shaping;

/// <summary>A source with its run-time state and its warmup caps indexed by day.</summary>
internal sealed class CompiledSource(EgressSource options, SourceRuntime runtime)
{
    private readonly int _startDay = options.Warmup is { } plan ? plan.StartDate.DayNumber : 0;
    private readonly int[]? _dailyCaps = options.Warmup?.DailyCaps?.ToArray();
    private readonly Dictionary<string, int[]>? _ruleCaps = Index(options.Warmup?.RuleCaps);
    private readonly int[]? _hourlyCaps = options.Warmup?.HourlyCaps?.ToArray();
    private readonly Dictionary<string, int[]>? _ruleHourlyCaps = Index(options.Warmup?.RuleHourlyCaps);

    public EgressSource Options { get; } = options;

    public SourceRuntime Runtime { get; } = runtime;

    public string Name => Options.Name;

    /// <summary>Today's warmup cap for the rule, or null when unlimited (no plan, or past its last day).</summary>
    public int? WarmupCap(string rule, int utcDayNumber) => Cap(_dailyCaps, _ruleCaps, rule, utcDayNumber);

    /// <summary>Today's cap per UTC hour for the rule, or null when there is none.</summary>
    public int? HourlyWarmupCap(string rule, int utcDayNumber) => Cap(_hourlyCaps, _ruleHourlyCaps, rule, utcDayNumber);

    private int? Cap(int[]? all, Dictionary<string, int[]>? byRule, string rule, int utcDayNumber)
    {
        if (Options.Warmup is null)
        {
            return null;
        }

        int[]? caps = byRule is not null && byRule.TryGetValue(rule, out int[]? own) ? own : all;
        int index = Math.Max(utcDayNumber - _startDay, 0);
        return caps is not null && index < caps.Length ? caps[index] : null;
    }

    private static Dictionary<string, int[]>? Index(Dictionary<string, List<int>>? caps) =>
        caps is { Count: > 0 } ? caps.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.OrdinalIgnoreCase) : null;
}
