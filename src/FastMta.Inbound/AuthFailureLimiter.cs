using System.Collections.Concurrent;
using System.Net;

namespace FastMta.Inbound;

// Counts failed AUTH attempts per client address in a fixed window; once a client reaches the limit, further AUTH
// attempts are refused (454 4.7.0) until the window ends. This slows password guessing without costing a PBKDF2
// computation per guess. The table is pruned when it grows, so a scan from many addresses cannot exhaust memory.
public sealed class AuthFailureLimiter(int maxFailures, TimeSpan window, TimeProvider time)
{
    private const int PruneThreshold = 10_000;
    private readonly ConcurrentDictionary<IPAddress, Entry> _failures = new();

    private readonly record struct Entry(int Count, long WindowStart);

    public bool IsBlocked(IPAddress client)
    {
        return _failures.TryGetValue(client, out Entry entry)
            && !Expired(entry) && entry.Count >= maxFailures;
    }

    public void RecordFailure(IPAddress client)
    {
        long now = time.GetTimestamp();
        _failures.AddOrUpdate(client, static (_, now) => new Entry(1, now),
            (_, old, now) => Expired(old) ? new Entry(1, now) : old with { Count = old.Count + 1 }, now);
        if (_failures.Count > PruneThreshold)
        {
            foreach (var pair in _failures)
            {
                if (Expired(pair.Value))
                {
                    _failures.TryRemove(pair);
                }
            }
        }
    }

    public void RecordSuccess(IPAddress client) => _failures.TryRemove(client, out _);

    private bool Expired(Entry entry) => time.GetElapsedTime(entry.WindowStart) >= window;
}
