using FastMta.Shaping;

namespace FastMta.Server.Testing;

/// <summary>
/// The test hook Mta:Testing:SchedulerFaults (never documented for operators): a traffic shaper whose next N
/// admissions throw, so that the queue's scheduling pass fails while it has mail to start and the tests see the
/// supervisor report it, back off, rebuild and heal. Composed by DeliveryService only when the key is set; everything
/// else goes to the real shaper.
/// </summary>
internal sealed class SchedulerFaultShaper(ITrafficShaper inner, int faults) : ITrafficShaper
{
    private int _faultsLeft = faults;

    public Admission TryAdmit(string pool, string domain, string site)
    {
        // Called under the queue's lock, by the scheduler only: no other thread decrements.
        if (_faultsLeft > 0)
        {
            _faultsLeft--;
            throw new InvalidOperationException("Injected scheduler fault (test hook Mta:Testing:SchedulerFaults).");
        }

        return inner.TryAdmit(pool, domain, site);
    }

    public void Release(AttemptSlot slot) => inner.Release(slot);

    public void ConnectionsOpened(AttemptSlot slot, int opened) => inner.ConnectionsOpened(slot, opened);

    public ShapingRule Match(string domain, string site) => inner.Match(domain, site);

    public string ChoosePool(string? headerPool, string? apiPool, string senderDomain) => inner.ChoosePool(headerPool, apiPool, senderDomain);

    public bool HasPool(string pool) => inner.HasPool(pool);

    public bool SuspendSource(string name, DateTimeOffset? until = null) => inner.SuspendSource(name, until);

    public bool ResumeSource(string name) => inner.ResumeSource(name);

    public bool IsSourceSuspended(string name, out DateTimeOffset? until) => inner.IsSourceSuspended(name, out until);

    public void Update(ShapingOptions options) => inner.Update(options);

    public IReadOnlyList<ShapingStateSnapshot> Snapshot() => inner.Snapshot();
}
