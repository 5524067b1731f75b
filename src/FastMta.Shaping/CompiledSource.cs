namespace FastMta.Shaping;

/// <summary>A source with its run-time state and its warmup caps indexed by day.</summary>
internal sealed class CompiledSource(EgressSource options, SourceRuntime runtime)
{
    private readonly int _startDay = options.Warmup is { } plan ? plan.StartDate.DayNumber : 0;
    private readonly int[]? _dailyCaps = options.Warmup?.DailyCaps?.ToArray();
    private readonly Dictionary<string, int[]>? _ruleCaps = options.Warmup?.RuleCaps is { Count: > 0 } caps
        ? caps.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.OrdinalIgnoreCase)
        : null;

    public EgressSource Options { get; } = options;

    public SourceRuntime Runtime { get; } = runtime;

    public string Name => Options.Name;

    /// <summary>Today's warmup cap for the rule, or null when unlimited (no plan, or past its last day).</summary>
    public int? WarmupCap(string rule, int utcDayNumber)
    {
        if (_dailyCaps is null)
        {
            return null;
        }

        int[] caps = _ruleCaps is not null && _ruleCaps.TryGetValue(rule, out int[]? own) ? own : _dailyCaps;
        int index = Math.Max(utcDayNumber - _startDay, 0);
        return index < caps.Length ? caps[index] : null;
    }
}
