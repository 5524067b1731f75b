using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;

namespace FastMta.Inbound;

internal enum AuthOutcome { Succeeded, Failed, ClientLimited, GlobalLimited, Busy }

// Checks AUTH passwords off the sessions' I/O path. A PBKDF2 verification costs tens of milliseconds of CPU; run inline
// in the session's buffer loop, 24 guesses a second took 73 % of a core and starved every other session's thread (a
// normal message took 2 s instead of 10 ms). Here it runs on this verifier's own threads
// (Mta:Auth:MaxConcurrentVerifications, default one per processor), so the thread pool that serves the sessions is
// never blocked; an attempt waits asynchronously for a free thread for at most Mta:Auth:MaxVerificationWait, then is
// refused (454 4.7.0, "busy"). Before it waits, the attempt reserves a place in two failure budgets: its client
// address's (Mta:Auth:MaxFailures per Mta:Auth:FailureWindow) and everyone's (Mta:Auth:MaxFailuresPerMinute), which
// bounds the CPU a distributed guesser can take. An unknown user is checked against a dummy hash with the real
// hashes' parameters, so its answer takes as long as a wrong password's.
internal sealed class AuthVerifier
{
    private static readonly TimeSpan GlobalWindow = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan BusyLogInterval = TimeSpan.FromSeconds(10);

    private readonly FrozenDictionary<string, StoredPassword> _users;
    private readonly StoredPassword _dummy;
    private readonly AuthFailureLimiter _perClient;
    private readonly AuthFailureBudget _global;
    private readonly SemaphoreSlim _threads;
    private readonly BlockingCollection<AuthVerification> _queue = new(new ConcurrentQueue<AuthVerification>());
    private readonly TimeSpan _maxWait;
    private readonly ILogger _logger;
    private readonly InboundMetrics _metrics;
    private long _busyRefusals;
    private long _busyLoggedAt;

    public AuthVerifier(InboundOptions options, ILogger logger, InboundMetrics metrics, TimeProvider time)
    {
        _users = options.AuthUsers.ToFrozenDictionary(u => u.Key,
            u => StoredPassword.TryParse(u.Value, out StoredPassword stored) ? stored
                : throw new ArgumentException($"The stored password of AUTH user '{u.Key}' is malformed.", nameof(options)),
            StringComparer.Ordinal);
        _dummy = StoredPassword.Dummy(_users.Values);
        _perClient = new AuthFailureLimiter(options.MaxAuthFailures, options.AuthFailureWindow, time);
        _global = new AuthFailureBudget(options.MaxAuthFailuresPerMinute, GlobalWindow, time);
        _threads = new SemaphoreSlim(options.MaxConcurrentAuthVerifications, options.MaxConcurrentAuthVerifications);
        _maxWait = options.AuthVerificationWait;
        _logger = logger;
        _metrics = metrics;
        _busyLoggedAt = Stopwatch.GetTimestamp() - (long)(BusyLogInterval.TotalSeconds * Stopwatch.Frequency);
        if (_users.Count == 0)
        {
            return; // AUTH not offered: no threads
        }
        for (int i = 0; i < options.MaxConcurrentAuthVerifications; i++)
        {
            // Background threads blocked in Take: they never keep the process alive and need no shutdown.
            new Thread(Work) { IsBackground = true, Name = $"FastMta AUTH verifier {i}" }.Start();
        }
    }

    // The cheap check made when AUTH is given: a spent budget answers 454 before the exchange (and before a password
    // is sent). The exact check is the reservation in VerifyAsync.
    public bool IsRefusing(IPAddress? client, out AuthOutcome refusal)
    {
        refusal = client is not null && _perClient.IsBlocked(client) ? AuthOutcome.ClientLimited
            : _global.IsExhausted() ? AuthOutcome.GlobalLimited
            : AuthOutcome.Succeeded;
        return refusal != AuthOutcome.Succeeded;
    }

    // Never throws for a wrong or unknown user; a refusal before the check wipes the password too. Pooled builder: a
    // flood of attempts would otherwise allocate a state machine each.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<AuthOutcome> VerifyAsync(AuthVerification attempt, IPAddress? client, string clientText)
    {
        AuthFailureBudget? clientBudget = null;
        if (client is not null && (clientBudget = _perClient.TryReserve(client)) is null)
        {
            attempt.Clear();
            return AuthOutcome.ClientLimited;
        }
        if (_global.TryReserve() != AuthFailureBudget.Reservation.Reserved)
        {
            clientBudget?.Complete(failed: false);
            attempt.Clear();
            return AuthOutcome.GlobalLimited;
        }

        bool checkedIt = false, ok = false;
        try
        {
            _metrics.AuthVerificationWaiting(1);
            bool entered;
            try
            {
                entered = await _threads.WaitAsync(_maxWait);
            }
            finally
            {
                _metrics.AuthVerificationWaiting(-1);
            }
            if (!entered)
            {
                attempt.Clear();
                LogBusy(clientText);
                return AuthOutcome.Busy;
            }
            try
            {
                bool known = _users.TryGetValue(attempt.User, out StoredPassword? stored);
                ValueTask<bool> result = attempt.Start(stored ?? _dummy);
                _queue.Add(attempt);
                ok = await result;
                checkedIt = true;
                _metrics.AuthVerification(ok ? "ok" : known ? "failed" : "unknown_user");
            }
            finally
            {
                _threads.Release();
            }
        }
        finally
        {
            bool failed = checkedIt && !ok;
            if (clientBudget is not null && clientBudget.Complete(failed))
            {
                Log.AuthClientBudgetSpent(_logger, clientText, _perClient.MaxFailures, _perClient.Window);
            }
            if (_global.Complete(failed))
            {
                Log.AuthGlobalBudgetSpent(_logger, _global.Limit);
            }
        }
        return ok ? AuthOutcome.Succeeded : AuthOutcome.Failed;
    }

    private void Work()
    {
        foreach (AuthVerification attempt in _queue.GetConsumingEnumerable())
        {
            attempt.Run(); // completes the attempt's task, exceptions included; the session resumes elsewhere
        }
    }

    // A refusal for lack of threads means the server is overloaded; logged at most every 10 s with the running count,
    // since a flood could otherwise write a line per attempt (the metric counts each one).
    private void LogBusy(string clientText)
    {
        long total = Interlocked.Increment(ref _busyRefusals);
        long last = Volatile.Read(ref _busyLoggedAt);
        if (Stopwatch.GetElapsedTime(last) >= BusyLogInterval
            && Interlocked.CompareExchange(ref _busyLoggedAt, Stopwatch.GetTimestamp(), last) == last)
        {
            Log.AuthVerifierBusy(_logger, clientText, _maxWait, total);
        }
    }
}
