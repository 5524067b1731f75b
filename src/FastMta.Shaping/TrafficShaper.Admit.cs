namespace FastMta.Shaping;

public sealed partial class TrafficShaper
{
    /// <summary>
    /// Asks for one delivery attempt to (domain, site) from <paramref name="pool"/>. Sources are tried in smooth
    /// weighted round-robin order; a source is skipped when suspended, at MaxConnections (per key or its source total),
    /// over today's warmup cap, or out of message tokens, or out of connection-rate tokens with no idle pooled
    /// connection to the destination (asked of the <see cref="IIdleConnections"/> view given at construction). On
    /// success it takes one attempt slot, one message token and one warmup unit, and, when the rule has a connection
    /// rate, its token if one is there (none when the attempt is expected to reuse an idle connection;
    /// <see cref="ConnectionsOpened"/> settles either way). Allocates nothing once the destination's state exists;
    /// does not wait.
    /// </summary>
    /// <param name="site">The destination's sorted, comma-joined, lower-case MX host names.</param>
    public Admission TryAdmit(string pool, string domain, string site)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentNullException.ThrowIfNull(site);
        CompiledConfig config = Volatile.Read(ref _config);
        if (!config.Pools.TryGetValue(pool, out CompiledPool? compiledPool))
        {
            // The name may come from a message header: never a label.
            _metrics.Admission("unknown", string.Empty, string.Empty, AdmissionResult.UnknownPool);
            return new Admission { Result = AdmissionResult.UnknownPool };
        }

        CompiledRule rule = config.Matcher.Match(domain, site, out bool matchedByMx);
        string scope = rule.Scope(domain, site, matchedByMx);
        long now = _time.GetTimestamp();
        DateTimeOffset utcNow = _time.GetUtcNow();
        var period = WarmupPeriod.At(utcNow);
        EvictIfDue(now);

        AdmissionResult refusal = AdmissionResult.Connections;
        DateTimeOffset? retryAt = null;
        string refusingSource = string.Empty;
        ulong tried = 0;
        for (int i = compiledPool.Select(tried); i >= 0; i = compiledPool.Select(tried))
        {
            tried |= 1UL << i;
            CompiledSource source = compiledPool.Members[i];
            AdmissionResult result = TryAdmitSource(source, rule, scope, domain, now, utcNow, period, out AttemptSlot slot, out DateTimeOffset? ready);
            if (result == AdmissionResult.Granted)
            {
                _metrics.Admission(pool, source.Name, rule.Name, result);
                return new Admission { Result = result, Source = source.Options, Rule = rule.Options, Slot = slot };
            }

            if (Sooner(ready, result, retryAt, refusingSource.Length == 0 ? null : refusal))
            {
                refusal = result;
                retryAt = ready;
                refusingSource = source.Name;
            }
        }

        _metrics.Admission(pool, refusingSource, rule.Name, refusal);
        return new Admission { Result = refusal, RetryAt = retryAt };
    }

    /// <summary>
    /// Settles the connection rate of the attempt admitted with <paramref name="slot"/>: it opened (or tried to open)
    /// <paramref name="opened"/> new connections. A token taken for an attempt that reused an open connection is given
    /// back; connections opened beyond the token taken (a pooled connection was taken by another attempt meanwhile, or
    /// a fallback MX host) are charged, delaying the next new connection. So ConnectionsPerMinute counts connections
    /// actually opened. Call before <see cref="Release"/>.
    /// </summary>
    public void ConnectionsOpened(AttemptSlot slot, int opened)
    {
        if (slot.State is not { } state)
        {
            return;
        }

        CompiledConfig config = Volatile.Read(ref _config);
        CompiledRule rule = config.Rules.GetValueOrDefault(state.Key.Rule) ?? config.Default;
        if (!rule.Connect.Enabled)
        {
            return;
        }

        int owed = opened - (slot.ConnectionCounted ? 1 : 0);
        if (owed < 0)
        {
            rule.Connect.Refund(ref state.TatConnect);
        }
        else if (owed > 0)
        {
            rule.Connect.Charge(ref state.TatConnect, _time.GetTimestamp(), owed);
        }
    }

    private AdmissionResult TryAdmitSource(
        CompiledSource source, CompiledRule rule, string scope, string domain, long now,
        DateTimeOffset utcNow, WarmupPeriod period, out AttemptSlot slot, out DateTimeOffset? retryAt)
    {
        slot = default;
        if (source.Runtime.IsSuspended(utcNow, out retryAt))
        {
            return AdmissionResult.Suspended;
        }

        var key = new StateKey(source.Name, rule.Name, scope);
        DestinationState state;
        while (true)
        {
            state = GetState(key);
            EnterResult entered = state.TryEnter(rule.Limits.MaxConnections);
            if (entered == EnterResult.Full)
            {
                return AdmissionResult.Connections;
            }

            if (entered == EnterResult.Entered)
            {
                break;
            }
        }

        DestinationState? total = null;
        if (rule.Total is { } totalLimits)
        {
            while (true)
            {
                total = state.Total ??= GetState(key with { Scope = StateKey.TotalScope });
                EnterResult entered = total.TryEnter(totalLimits.MaxConnections);
                if (entered == EnterResult.Entered)
                {
                    break;
                }

                if (entered == EnterResult.Full)
                {
                    state.Exit();
                    return AdmissionResult.Connections;
                }

                state.Total = null;
            }
        }

        bool connectionCounted = false;
        if (rule.Connect.Enabled)
        {
            connectionCounted = rule.Connect.TryTake(ref state.TatConnect, now, out long connectReady);
            if (!connectionCounted && _idleConnections?.HasIdleConnection(source.Options, domain) != true)
            {
                total?.Exit();
                state.Exit();
                retryAt = ToUtc(connectReady, now, utcNow);
                return AdmissionResult.Rate;
            }
        }

        AdmissionResult result = TakeMessage(source, rule, state, total, now, utcNow, period, out retryAt);
        if (result != AdmissionResult.Granted)
        {
            if (connectionCounted)
            {
                rule.Connect.Refund(ref state.TatConnect);
            }

            total?.Exit();
            state.Exit();
            return result;
        }

        (int index, int generation) = state.AcquireSlot();
        state.Stats.SlotTaken();
        slot = new AttemptSlot(state, total, index, generation, connectionCounted);
        return AdmissionResult.Granted;
    }

    /// <summary>One warmup unit (today's and this hour's) and one message token from the key's budget and the source
    /// total, all or none.</summary>
    private AdmissionResult TakeMessage(
        CompiledSource source, CompiledRule rule, DestinationState state, DestinationState? total, long now,
        DateTimeOffset utcNow, WarmupPeriod period, out DateTimeOffset? retryAt)
    {
        retryAt = null;
        int? dailyCap = source.WarmupCap(rule.Name, period.Day);
        int? hourlyCap = source.HourlyWarmupCap(rule.Name, period.Day);
        if ((dailyCap is not null || hourlyCap is not null) && !state.Stats.TryTakeWarmup(period, dailyCap, hourlyCap))
        {
            // Wait for the next hour when only the hour's cap is reached, else for the next UTC midnight.
            bool dayFull = dailyCap is int daily && state.Stats.SentOn(period.Day) >= daily;
            DateTime utc = utcNow.UtcDateTime;
            retryAt = new DateTimeOffset(dayFull ? utc.Date.AddDays(1) : utc.Date.AddHours(utc.Hour + 1), TimeSpan.Zero);
            return AdmissionResult.Warmup;
        }

        if (!rule.Limits.TryTakeMessage(state, now, out long ready))
        {
            state.Stats.RefundWarmup(period, dailyCap, hourlyCap);
            retryAt = ToUtc(ready, now, utcNow);
            return AdmissionResult.Rate;
        }

        if (total is not null && rule.Total is { } totalLimits && !totalLimits.TryTakeMessage(total, now, out ready))
        {
            rule.Limits.RefundMessage(state);
            state.Stats.RefundWarmup(period, dailyCap, hourlyCap);
            retryAt = ToUtc(ready, now, utcNow);
            return AdmissionResult.Rate;
        }

        return AdmissionResult.Granted;
    }

    /// <summary>Whether a refusal explains the answer better: the soonest known time, else a connection limit (a release may help).</summary>
    private static bool Sooner(DateTimeOffset? ready, AdmissionResult result, DateTimeOffset? best, AdmissionResult? bestResult)
    {
        if (bestResult is null)
        {
            return true;
        }

        if (ready is { } at)
        {
            return best is null || at < best;
        }

        return best is null && result == AdmissionResult.Connections && bestResult != AdmissionResult.Connections;
    }

    private DestinationState GetState(StateKey key) =>
        _states.TryGetValue(key, out DestinationState? state)
            ? state
            : _states.GetOrAdd(key, static (k, self) => new DestinationState(k, self.GetStats(k)), this);

    private SourceRuleStats GetStats(StateKey key) =>
        _stats.GetOrAdd(key with { Scope = string.Empty }, static k => new SourceRuleStats(k.Source, k.Rule));

    private void EvictIfDue(long now)
    {
        long due = Volatile.Read(ref _nextEviction);
        if (now >= due && Interlocked.CompareExchange(ref _nextEviction, now + _evictionTicks, due) == due)
        {
            EvictIdle();
        }
    }
}
