using FastMta.Shaping;

namespace FastMta.Queue;

// Traffic shaping at the queue: each destination asks the shaper for an admission (a source from its pool with a
// token and a connection slot) before each attempt. A refused destination is parked, out of the round-robin line,
// until the time the shaper names or, when only a connection slot was missing, until some lease is released: a
// destination out of budget costs nothing while it waits, and nothing polls.
public sealed partial class QueueManager
{
    private readonly PriorityQueue<DestinationQueue, long> parkedUntil = new();
    private readonly List<DestinationQueue> parkedForRelease = [];

    /// <summary>The live shaper (admin API: snapshot, source suspension), or null without shaping.</summary>
    public TrafficShaper? Shaper => shaper;

    private void Park(DestinationQueue destination, DateTimeOffset? retryAt)
    {
        destination.Parked = true;
        if (retryAt is { } at)
        {
            destination.ParkedUntilMs = at.ToUnixTimeMilliseconds();
            parkedUntil.Enqueue(destination, destination.ParkedUntilMs);
        }
        else
        {
            destination.ParkedUntilMs = long.MaxValue;
            parkedForRelease.Add(destination);
        }
    }

    /// <summary>Puts back in line the destinations whose shaping wait is over.</summary>
    private void UnparkDue(long now)
    {
        while (parkedUntil.TryPeek(out DestinationQueue? destination, out long until) && until <= now)
        {
            parkedUntil.Dequeue();
            if (destination.Parked && destination.ParkedUntilMs == until)
            {
                Unpark(destination);
            }
        }

    }

    private long NextUnparkMs() => parkedUntil.TryPeek(out _, out long next) ? next : long.MaxValue;

    // A released lease may admit any destination that waited for a connection slot: they all try again (each try
    // is one cheap, allocation-free shaper decision).
    private void UnparkWaitingForRelease()
    {
        if (parkedForRelease.Count == 0)
        {
            return;
        }

        foreach (DestinationQueue destination in parkedForRelease)
        {
            if (destination.Parked && destination.ParkedUntilMs == long.MaxValue)
            {
                Unpark(destination);
            }
        }

        parkedForRelease.Clear();
    }

    private void Unpark(DestinationQueue destination)
    {
        destination.Parked = false;
        MakeRunnableIfReady(destination);
        if (destination.Active == 0 && destination.Ready.Count == 0 && !destination.Runnable)
        {
            RemoveIfCurrent(destination);
        }
    }

    /// <summary>Drops an idle destination queue from the index, unless the index already holds a newer one.</summary>
    private void RemoveIfCurrent(DestinationQueue destination)
    {
        var key = new DestinationKey(destination.Pool, destination.Domain);
        if (destinations.TryGetValue(key, out DestinationQueue? current) && ReferenceEquals(current, destination))
        {
            destinations.Remove(key);
        }
    }

    private async Task ResolveSiteAsync(DestinationQueue destination)
    {
        string site;
        try
        {
            site = await sites!.GetSiteAsync(destination.Domain, stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            // ISiteResolver promises not to throw; if it does, shape by the domain rather than never deliver.
            metrics.Error("site");
            Log.SiteResolutionFailed(logger, destination.Domain, e);
            site = destination.Domain;
        }

        lock (gate)
        {
            destination.Site = site;
            MakeRunnableIfReady(destination);
            if (destination.Active == 0 && destination.Ready.Count == 0 && !destination.Runnable && !destination.Parked)
            {
                RemoveIfCurrent(destination); // emptied meanwhile (an administrator bounced its mail)
            }
        }

        Signal();
    }
}
