using System.Collections.Concurrent;
using System.Net;

namespace FastMta.Inbound;

// One AuthFailureBudget per client address (Mta:Auth:MaxFailures within Mta:Auth:FailureWindow); once a client has
// spent it, further AUTH attempts are refused (454 4.7.0) until its window ends. This slows password guessing without
// costing a PBKDF2 computation per guess. The table is pruned when it grows, so a scan from many addresses cannot
// exhaust memory.
internal sealed class AuthFailureLimiter(int maxFailures, TimeSpan window, TimeProvider time)
{
    private const int PruneThreshold = 10_000;
    private readonly ConcurrentDictionary<IPAddress, AuthFailureBudget> _budgets = new();

    public int MaxFailures => maxFailures;
    public TimeSpan Window => window;

    public bool IsBlocked(IPAddress client) => _budgets.TryGetValue(client, out AuthFailureBudget? budget) && budget.IsExhausted();

    // The client's budget with a place reserved in it (give it back with Complete), or null when it is spent.
    public AuthFailureBudget? TryReserve(IPAddress client)
    {
        while (true)
        {
            AuthFailureBudget budget = _budgets.GetOrAdd(client, static (_, self) => self.NewBudget(), this);
            switch (budget.TryReserve())
            {
                case AuthFailureBudget.Reservation.Reserved:
                    if (_budgets.Count > PruneThreshold)
                    {
                        Prune();
                    }
                    return budget;
                case AuthFailureBudget.Reservation.Exhausted:
                    return null;
            }
            // Retired: pruned between the look-up and the reservation; the next GetOrAdd finds or makes the live one.
            _budgets.TryRemove(new KeyValuePair<IPAddress, AuthFailureBudget>(client, budget));
        }
    }

    private AuthFailureBudget NewBudget() => new(maxFailures, window, time);

    private void Prune()
    {
        foreach (var pair in _budgets)
        {
            if (pair.Value.TryRetire())
            {
                _budgets.TryRemove(pair);
            }
        }
    }
}
