using System.Diagnostics.Metrics;
using FastMta.Shaping;

namespace FastMta.Queue;

// Traffic shaping at the queue: each destination asks the shaper for an admission (a source from its pool with a
// token and a connection slot) before each attempt. A refused destination is parked, out of the round-robin line,
// until the time the shaper names or, when only a connection slot was missing, until some attempt slot is released: a
// destination out of budget costs nothing while it waits, and nothing polls.
public sealed partial class QueueManager
{
    private readonly PriorityQueue<DestinationQueue, long> _parkedUntil = new();
    private readonly List<DestinationQueue> _parkedForRelease = [];

    /// <summary>The live shaper (admin API: snapshot, source suspension), or null without shaping.</summary>
    public ITrafficShaper? Shaper => _shaper;

    // The waiting gauge, at scrape time: O(active destinations) (each keeps its own count), labels from configured
    // names only (pools, rules).
    private IEnumerable<Measurement<long>> ObserveWaiting()
    {
        var totals = new Dictionary<(string Pool, string Rule), long>();
        lock (_gate)
        {
            foreach (DestinationQueue destination in _destinations.Values)
            {
                string rule = RuleOf(destination) ?? "none";
                totals[(destination.Pool, rule)] = totals.GetValueOrDefault((destination.Pool, rule)) + destination.WaitingRecipients;
            }
        }

        return totals.Select(t => new Measurement<long>(t.Value,
            new KeyValuePair<string, object?>("pool", t.Key.Pool), new KeyValuePair<string, object?>("rule", t.Key.Rule)));
    }

    private string? RuleOf(DestinationQueue destination) =>
        _shaper is not null && destination.Site is not null ? _shaper.Match(destination.Domain, destination.Site).Name : null;

    /// <summary>
    /// Every active destination queue (ready work or attempts running), busiest first: its pool and site, the
    /// transactions and recipients waiting, attempts running, and why it waits (shaping until a time or a free
    /// connection, or a suspension). Admin API; O(active destinations).
    /// </summary>
    public IReadOnlyList<DestinationQueueInfo> GetDestinationQueues(int limit)
    {
        lock (_gate)
        {
            long now = NowMs;
            return _destinations.Values
                .OrderByDescending(d => d.ReadyCount + d.Active)
                .ThenBy(d => d.Domain, StringComparer.Ordinal)
                .Take(limit)
                .Select(d => new DestinationQueueInfo(d.Pool, d.Domain, d.Site, RuleOf(d), d.ReadyCount, d.WaitingRecipients, d.Active,
                    d.Parked && d.ParkedUntilMs != long.MaxValue ? DateTimeOffset.FromUnixTimeMilliseconds(d.ParkedUntilMs) : null,
                    d.Parked && d.ParkedUntilMs == long.MaxValue,
                    IsSuspended(d.Domain, now)))
                .ToList();
        }
    }

    private void Park(DestinationQueue destination, DateTimeOffset? retryAt)
    {
        destination.Parked = true;
        if (retryAt is { } at)
        {
            destination.ParkedUntilMs = at.ToUnixTimeMilliseconds();
            _parkedUntil.Enqueue(destination, destination.ParkedUntilMs);
        }
        else
        {
            destination.ParkedUntilMs = long.MaxValue;
            _parkedForRelease.Add(destination);
        }
    }

    /// <summary>Puts back in line the destinations whose shaping wait is over.</summary>
    private void UnparkDue(long now)
    {
        while (_parkedUntil.TryPeek(out DestinationQueue? destination, out long until) && until <= now)
        {
            _parkedUntil.Dequeue();
            if (destination.Parked && destination.ParkedUntilMs == until)
            {
                Unpark(destination);
            }
        }

    }

    /// <summary>
    /// Traffic shaping changed under the queue (a source resumed, a configuration reload): every destination parked by
    /// shaping asks again now instead of at the time its refusal named, which may be a long suspension's end.
    /// </summary>
    public void RecheckShaping()
    {
        lock (_gate)
        {
            while (_parkedUntil.TryDequeue(out DestinationQueue? destination, out long until))
            {
                if (destination.Parked && destination.ParkedUntilMs == until)
                {
                    Unpark(destination);
                }
            }

            UnparkWaitingForRelease();
        }

        Signal();
    }

    private long NextUnparkMs() => _parkedUntil.TryPeek(out _, out long next) ? next : long.MaxValue;

    // A released attempt slot may admit any destination that waited for a connection slot: they all try again (each try
    // is one cheap, allocation-free shaper decision).
    private void UnparkWaitingForRelease()
    {
        if (_parkedForRelease.Count == 0)
        {
            return;
        }

        foreach (DestinationQueue destination in _parkedForRelease)
        {
            if (destination.Parked && destination.ParkedUntilMs == long.MaxValue)
            {
                Unpark(destination);
            }
        }

        _parkedForRelease.Clear();
    }

    private void Unpark(DestinationQueue destination)
    {
        destination.Parked = false;
        MakeRunnableIfReady(destination);
        if (destination.Active == 0 && destination.ReadyCount == 0 && !destination.Runnable)
        {
            RemoveIfCurrent(destination);
        }
    }

    /// <summary>Drops an idle destination queue from the index, unless the index already holds a newer one.</summary>
    private void RemoveIfCurrent(DestinationQueue destination)
    {
        var key = new DestinationKey(destination.Pool, destination.Domain);
        if (_destinations.TryGetValue(key, out DestinationQueue? current) && ReferenceEquals(current, destination))
        {
            _destinations.Remove(key);
        }
    }

    private async Task ResolveSiteAsync(DestinationQueue destination)
    {
        string site;
        try
        {
            site = await _sites!.GetSiteAsync(destination.Domain, _stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            // ISiteResolver promises not to throw; if it does, shape by the domain rather than never deliver.
            _metrics.Error("site");
            Log.SiteResolutionFailed(_logger, destination.Domain, e);
            site = destination.Domain;
        }

        lock (_gate)
        {
            destination.Site = site;
            MakeRunnableIfReady(destination);
            if (destination.Active == 0 && destination.ReadyCount == 0 && !destination.Runnable && !destination.Parked)
            {
                RemoveIfCurrent(destination); // emptied meanwhile (an administrator bounced its mail)
            }
        }

        Signal();
    }
}

/// <summary>One destination queue as the admin API shows it.</summary>
/// <param name="Site">The MX set shaping rules match on; null until resolved (or without shaping).</param>
/// <param name="WaitingTransactions">Planned transactions waiting for their turn.</param>
/// <param name="ShapedUntil">Traffic shaping holds the destination until then (the next token or warmup day).</param>
/// <param name="WaitingForConnection">Traffic shaping holds it until a connection slot is released.</param>
/// <param name="Rule">The shaping rule in force for it; null until its site is known (or without shaping).</param>
public sealed record DestinationQueueInfo(string Pool, string Domain, string? Site, string? Rule, int WaitingTransactions, int WaitingRecipients,
    int ActiveAttempts, DateTimeOffset? ShapedUntil, bool WaitingForConnection, bool Suspended);
