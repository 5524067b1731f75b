using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace FastMta.Shaping;

/// <summary>
/// Decides which egress source may make a delivery attempt to a destination, and when to ask again. Budgets are kept
/// per (source, destination key) (see <see cref="ShapingRule"/> for the keys), created on first use and evicted once
/// idle and full, so a destination that sends nothing costs nothing. Thread-safe: rate cells and counters are updated
/// with CompareExchange; the only locks are a pool's round-robin step and growing a slot table. Never waits and does
/// no I/O: a refusal says when to come back (<see cref="Admission.RetryAt"/>).
/// <para>
/// Who owns what: the shaper grants attempt slots (<see cref="AttemptSlot"/>: MaxConnections counts attempts in flight
/// per (source, key) and per source total, each carried by one connection), message rates, warmup caps and the
/// connection rate; the outbound connection pool alone owns sockets: which one an attempt uses, how many are open per
/// receiver address and how long an idle one stays. The shaper learns what the pool did only after the attempt
/// (<see cref="ConnectionsOpened"/>) and, for the connection rate, from the lock-free <see cref="IIdleConnections"/>
/// view given at construction.
/// </para>
/// </summary>
public sealed partial class TrafficShaper : ITrafficShaper, IDisposable
{
    /// <summary>How often idle, full destination state is dropped (by whichever decision comes due).</summary>
    internal static readonly TimeSpan EvictionInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly long _frequency;
    private readonly long _evictionTicks;
    private readonly ConcurrentDictionary<StateKey, DestinationState> _states = new(StateKey.Comparer);
    private readonly ConcurrentDictionary<StateKey, SourceRuleStats> _stats = new(StateKey.Comparer);
    private readonly ConcurrentDictionary<string, SourceRuntime> _runtimes = new(StringComparer.OrdinalIgnoreCase);
    private readonly ShapingMetrics _metrics;
    private readonly IIdleConnections? _idleConnections;
    private CompiledConfig _config;
    private long _nextEviction;

    /// <summary>Validates and applies <paramref name="options"/>; throws <see cref="ShapingOptionsException"/> naming
    /// the field at fault.</summary>
    /// <param name="idleConnections">Asked, when a rule's connection rate has no token left, whether the source has an
    /// idle pooled connection to the destination (then the attempt opens nothing and needs no token); null: never.</param>
    public TrafficShaper(ShapingOptions options, TimeProvider? timeProvider = null, IIdleConnections? idleConnections = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _idleConnections = idleConnections;
        _frequency = _time.TimestampFrequency;
        _evictionTicks = (long)(EvictionInterval.TotalSeconds * _frequency);
        _config = Compile(options);
        _nextEviction = _time.GetTimestamp() + _evictionTicks;
        _metrics = new ShapingMetrics(this);
    }

    public const string MeterName = ShapingMetrics.MeterName;

    /// <summary>
    /// Replaces the configuration at run time. The next decision uses the new limits; budgets whose (source, rule,
    /// key) survives keep their tokens, attempts in flight and warmup counts; suspensions survive. Slots granted
    /// before stay valid. Throws (and keeps the old configuration) when the new one is invalid.
    /// </summary>
    public void Update(ShapingOptions options) => Volatile.Write(ref _config, Compile(options));

    /// <summary>The effective rule (inherited values filled in) for a domain and its site (sorted, comma-joined MX hosts).</summary>
    public ShapingRule Match(string domain, string site) =>
        Volatile.Read(ref _config).Matcher.Match(domain, site, out _).Options;

    /// <summary>
    /// The pool for a message: the X-FastMta-Pool header, else the API's pool field, else the sender domain's pool
    /// (<see cref="ShapingOptions.SenderDomainPools"/>), else "default". Returns a named pool as given even if it is not configured:
    /// check with <see cref="HasPool"/> where the message is accepted.
    /// </summary>
    public string ChoosePool(string? headerPool, string? apiPool, string senderDomain)
    {
        if (!string.IsNullOrWhiteSpace(headerPool))
        {
            return headerPool.Trim();
        }

        if (!string.IsNullOrWhiteSpace(apiPool))
        {
            return apiPool.Trim();
        }

        return Volatile.Read(ref _config).SenderDomainPools.TryGetValue(senderDomain ?? string.Empty, out string? pool)
            ? pool
            : EgressPool.DefaultName;
    }

    public bool HasPool(string pool) => Volatile.Read(ref _config).Pools.ContainsKey(pool);

    /// <summary>Stops admitting from a source until <paramref name="until"/> (or until resumed). Slots already granted stay valid. False for an unknown source.</summary>
    public bool SuspendSource(string name, DateTimeOffset? until = null)
    {
        if (!Volatile.Read(ref _config).Sources.TryGetValue(name, out CompiledSource? source))
        {
            return false;
        }

        source.Runtime.Suspend(until);
        return true;
    }

    public bool ResumeSource(string name)
    {
        if (!Volatile.Read(ref _config).Sources.TryGetValue(name, out CompiledSource? source))
        {
            return false;
        }

        source.Runtime.Resume();
        return true;
    }

    public bool IsSourceSuspended(string name, out DateTimeOffset? until)
    {
        until = null;
        return Volatile.Read(ref _config).Sources.TryGetValue(name, out CompiledSource? source)
            && source.Runtime.IsSuspended(_time.GetUtcNow(), out until);
    }

    /// <summary>Frees the attempt's slot. Idempotent; <c>default</c> and stale copies do nothing.</summary>
    public void Release(AttemptSlot slot)
    {
        if (slot.State is { } state && state.ReleaseSlot(slot.Slot, slot.Generation))
        {
            state.Exit();
            slot.Total?.Exit();
            state.Stats.SlotReleased();
        }
    }

    /// <summary>
    /// Drops destination state that is idle (no attempt in flight) and full (every bucket refilled): a new one would be
    /// identical. Runs by itself every <see cref="EvictionInterval"/>; public for a maintenance loop and tests.
    /// </summary>
    public int EvictIdle()
    {
        long now = _time.GetTimestamp();
        int evicted = 0;
        foreach (KeyValuePair<StateKey, DestinationState> entry in _states)
        {
            if (entry.Value.TryMarkEvicted(now) && _states.TryRemove(entry))
            {
                evicted++;
            }
        }

        return evicted;
    }

    /// <summary>Active (source, key) budgets, for the admin endpoint. Allocates; not for the hot path.</summary>
    public IReadOnlyList<ShapingStateSnapshot> Snapshot()
    {
        CompiledConfig config = Volatile.Read(ref _config);
        long now = _time.GetTimestamp();
        DateTimeOffset utcNow = _time.GetUtcNow();
        var period = WarmupPeriod.At(utcNow);
        var list = new List<ShapingStateSnapshot>();
        foreach (DestinationState state in _states.Values)
        {
            StateKey key = state.Key;
            CompiledRule rule = config.Rules.GetValueOrDefault(key.Rule) ?? config.Default;
            bool isTotal = key.Scope == StateKey.TotalScope;
            CompiledLimits? limits = isTotal ? rule.Total : rule.Limits;
            if (limits is null)
            {
                continue;
            }

            RateCell finest = limits.Finest;
            long tat = finest.Enabled ? limits.FinestTat(state) : 0;
            CompiledSource? source = isTotal ? null : config.Sources.GetValueOrDefault(key.Source);
            list.Add(new ShapingStateSnapshot(
                key.Source,
                rule.Name,
                key.Scope.Length == 0 ? rule.Name : key.Scope,
                finest.Enabled ? finest.PerSecond : null,
                finest.Enabled ? finest.Available(tat, now) : null,
                finest.Enabled ? ToUtc(finest.NextTokenAt(tat, now), now, utcNow) : null,
                state.InUse,
                limits.MaxConnections == int.MaxValue ? null : limits.MaxConnections,
                isTotal ? 0 : state.Stats.SentOn(period.Day),
                source?.WarmupCap(rule.Name, period.Day),
                isTotal ? 0 : state.Stats.SentInHour(period.Hour),
                source?.HourlyWarmupCap(rule.Name, period.Day)));
        }

        return list;
    }

    public void Dispose() => _metrics.Dispose();

    internal IEnumerable<Measurement<long>> ObserveConnections()
    {
        foreach (SourceRuleStats stats in _stats.Values)
        {
            yield return new Measurement<long>(stats.SlotsHeld, new("source", stats.Source), new("rule", stats.Rule));
        }
    }

    internal IEnumerable<Measurement<long>> ObserveWarmupSent() => ObserveWarmup(static (stats, period) => stats.SentOn(period.Day));

    internal IEnumerable<Measurement<long>> ObserveWarmupSentThisHour() => ObserveWarmup(static (stats, period) => stats.SentInHour(period.Hour));

    private IEnumerable<Measurement<long>> ObserveWarmup(Func<SourceRuleStats, WarmupPeriod, long> count)
    {
        CompiledConfig config = Volatile.Read(ref _config);
        var period = WarmupPeriod.At(_time.GetUtcNow());
        foreach (SourceRuleStats stats in _stats.Values)
        {
            if (config.Sources.TryGetValue(stats.Source, out CompiledSource? source) && source.Options.Warmup is not null)
            {
                yield return new Measurement<long>(count(stats, period), new("source", stats.Source), new("rule", stats.Rule));
            }
        }
    }

    internal IEnumerable<Measurement<long>> ObserveTokens()
    {
        CompiledConfig config = Volatile.Read(ref _config);
        long now = _time.GetTimestamp();
        foreach (CompiledSource source in config.Sources.Values)
        {
            foreach (CompiledRule rule in config.Rules.Values)
            {
                RateCell finest = rule.Limits.Finest;
                if (rule.IsDefault || rule.Options.PerDomain || !finest.Enabled)
                {
                    continue;
                }

                long available = _states.TryGetValue(new StateKey(source.Name, rule.Name, string.Empty), out DestinationState? state)
                    ? finest.Available(rule.Limits.FinestTat(state), now)
                    : finest.Burst;
                yield return new Measurement<long>(available, new("source", source.Name), new("rule", rule.Name));
            }
        }
    }

    internal IEnumerable<Measurement<long>> ObserveSuspended()
    {
        DateTimeOffset utcNow = _time.GetUtcNow();
        foreach (CompiledSource source in Volatile.Read(ref _config).Sources.Values)
        {
            yield return new Measurement<long>(source.Runtime.IsSuspended(utcNow, out _) ? 1 : 0, new KeyValuePair<string, object?>("source", source.Name));
        }
    }

    internal int ActiveStates => _states.Count;

    private CompiledConfig Compile(ShapingOptions options) =>
        new(options, name => _runtimes.GetOrAdd(name, static n => new SourceRuntime(n)), _frequency);

    /// <summary>A timestamp as UTC time, rounded up so that a caller coming back then finds the token there.</summary>
    private DateTimeOffset ToUtc(long timestamp, long now, DateTimeOffset utcNow)
    {
        long delta = Math.Max(timestamp - now, 0);
        long ticks = (long)(((Int128)delta * TimeSpan.TicksPerSecond + _frequency - 1) / _frequency);
        return utcNow.AddTicks(ticks);
    }
}
