namespace FastMta.Inbound;

// A limit on failed AUTH attempts within a fixed window that starts at the window's first failure. An attempt
// reserves its place before its password is verified and holds it while the verification runs, so however many
// attempts run at once, failures + attempts in flight never exceed the limit: counting only after verifying let 7 of 10
// concurrent guesses through a limit of 5. A success gives its place back; it does not forgive the failures before it
// (else one valid account would reset the count between guesses at others).
internal sealed class AuthFailureBudget(int limit, TimeSpan window, TimeProvider time)
{
    public enum Reservation { Reserved, Exhausted, Retired }

    private readonly Lock _lock = new();
    private int _failures;
    private int _inFlight;
    private long _windowStart;
    private bool _retired;

    public int Limit => limit;

    // Whether the failures of the current window alone reach the limit (no reservation taken): the cheap check made
    // when AUTH is given, so a spent budget answers 454 before the exchange.
    public bool IsExhausted()
    {
        lock (_lock)
        {
            ExpireWindow();
            return _failures >= limit;
        }
    }

    public Reservation TryReserve()
    {
        lock (_lock)
        {
            if (_retired)
            {
                return Reservation.Retired;
            }
            ExpireWindow();
            if (_failures + _inFlight >= limit)
            {
                return Reservation.Exhausted;
            }
            _inFlight++;
            return Reservation.Reserved;
        }
    }

    // Ends a reservation. failed: it becomes a failure of the current window. True when that failure spent the budget
    // (once per window: the moment to log it).
    public bool Complete(bool failed)
    {
        lock (_lock)
        {
            _inFlight--;
            if (!failed)
            {
                return false;
            }
            ExpireWindow();
            if (_failures == 0)
            {
                _windowStart = time.GetTimestamp();
            }
            return ++_failures == limit;
        }
    }

    // For pruning a table of budgets: an idle budget whose window is over is retired (true) and may be removed; a
    // reservation racing with the removal sees Retired and looks the key up again, so none is made on a lost budget.
    public bool TryRetire()
    {
        lock (_lock)
        {
            ExpireWindow();
            if (_inFlight == 0 && _failures == 0)
            {
                _retired = true;
            }
            return _retired;
        }
    }

    private void ExpireWindow()
    {
        if (_failures > 0 && time.GetElapsedTime(_windowStart) >= window)
        {
            _failures = 0;
        }
    }
}
