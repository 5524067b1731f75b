namespace FastMta.Queue;

/// <summary>
/// Which destination domains an administrator has suspended, and until when (long.MaxValue: until resumed). In memory
/// only: suspensions end at restart, like KumoMTA's. Every member is called under the gate.
/// </summary>
internal sealed class DomainSuspensions
{
    private readonly Dictionary<string, long> _until = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Suspended domains and their end times (unix ms). Under the gate.</summary>
    public IReadOnlyDictionary<string, long> All => _until;

    /// <summary>Under the gate.</summary>
    public void Suspend(string domain, long untilMs) => _until[domain.ToLowerInvariant()] = untilMs;

    /// <summary>Under the gate.</summary>
    public bool Resume(string domain) => _until.Remove(domain);

    /// <summary>Under the gate; allocation-free (the scheduler asks for every transaction it starts).</summary>
    public bool IsSuspended(string domain, long now) =>
        _until.Count > 0 && _until.TryGetValue(domain, out long until) && until > now;

    /// <summary>Under the gate.</summary>
    public bool TryGetEnd(string domain, out long untilMs) => _until.TryGetValue(domain, out untilMs);

    /// <summary>Ends the suspensions whose time has come, calling <paramref name="ended"/> for each domain; returns the
    /// earliest end still ahead (long.MaxValue if none). Under the gate.</summary>
    public long Expire(long now, Action<string> ended)
    {
        if (_until.Count == 0)
        {
            return long.MaxValue;
        }

        long next = long.MaxValue;
        foreach ((string domain, long until) in _until)
        {
            if (until <= now)
            {
                _until.Remove(domain);
                ended(domain);
            }
            else
            {
                next = Math.Min(next, until);
            }
        }

        return next;
    }
}
