using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Outbound;

/// <summary>
/// Established connections per (egress source, EHLO name, receiver address), reused across messages (opening one per
/// message is the classic toy-MTA mistake) and capped at <see cref="OutboundOptions.MaxConnectionsPerHost"/>. The pool
/// alone owns sockets: which one an attempt gets, how many are open, how long an idle one stays. Traffic shaping only
/// admits attempts (its MaxConnections counts attempts in flight) and learns afterwards how many connections each
/// opened. A lease is exclusive until <see cref="Return"/>. No lock is held across I/O: connecting, QUIT and close
/// happen outside.
/// </summary>
public sealed class OutboundConnectionPool : IAsyncDisposable
{
    private readonly OutboundOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(IPAddress? Source, string EhloName, IPEndPoint Remote), HostPool> _hosts = new();
    private readonly ITimer _sweeper;
    private volatile bool _disposed;

    public OutboundConnectionPool(OutboundOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxConnectionsPerHost, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MessagesPerConnection, 1);
        _options = options;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<OutboundConnectionPool>();
        _time = timeProvider ?? TimeProvider.System;
        // Sweep often enough that an idle connection lives at most about 1.25 x IdleTimeout.
        TimeSpan period = TimeSpan.FromTicks(Math.Clamp(options.IdleTimeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks,
            TimeSpan.FromSeconds(5).Ticks));
        _sweeper = _time.CreateTimer(static state => ((OutboundConnectionPool)state!).Sweep(), this, period, period);
    }

    public OutboundOptions Options => _options;

    /// <summary>Connections open now (leased, idle or being opened) to one receiver address from one source and
    /// EHLO name (null = <see cref="OutboundOptions.EhloName"/>).</summary>
    public int OpenConnections(IPEndPoint remote, IPAddress? source = null, string? ehloName = null) =>
        _hosts.TryGetValue((source, ehloName ?? _options.EhloName, remote), out HostPool? host) ? host.Count : 0;

    /// <summary>Whether an idle connection to <paramref name="remote"/> from the source and EHLO name (null =
    /// <see cref="OutboundOptions.EhloName"/>) could be reused now. A hint: another lease may take it first. Lock-free
    /// (it reads what each host publishes whenever its idle stack changes), so traffic shaping may ask under the
    /// queue's lock.</summary>
    public bool HasIdle(IPEndPoint remote, IPAddress? source, string? ehloName)
    {
        if (!_hosts.TryGetValue((source, ehloName ?? _options.EhloName, remote), out HostPool? host))
        {
            return false;
        }

        // The most recently returned connection is the last to expire: if it has not, one is reusable.
        long newest = Volatile.Read(ref host.NewestIdleSince);
        return newest != 0 && _time.GetElapsedTime(newest) < _options.IdleTimeout;
    }

    /// <summary>A lease with the options' EHLO name and messages per connection.</summary>
    public Task<OutboundConnection> LeaseAsync(IPEndPoint remote, string hostName, IPAddress? source,
        CancellationToken cancellationToken) =>
        LeaseAsync(remote, hostName, source, null, null, cancellationToken);

    /// <summary>
    /// An idle connection that may take another transaction, else a new one while below the per-host limit, else the
    /// next one returned (waits without polling). Throws <see cref="OutboundConnectionException"/> when connecting
    /// fails and <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    /// <param name="ehloName">The EHLO name (null = <see cref="OutboundOptions.EhloName"/>); connections opened with
    /// another name are never handed out, since the name belongs to the session.</param>
    /// <param name="messagesPerConnection">Null = <see cref="OutboundOptions.MessagesPerConnection"/>. An idle connection
    /// that has already sent this many is closed instead of reused, and so is the leased one on return once it has.</param>
    public async Task<OutboundConnection> LeaseAsync(IPEndPoint remote, string hostName, IPAddress? source,
        string? ehloName, int? messagesPerConnection, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string ehlo = ehloName ?? _options.EhloName;
        int limit = Math.Max(1, messagesPerConnection ?? _options.MessagesPerConnection);
        HostPool host = _hosts.GetOrAdd((source, ehlo, remote), static _ => new HostPool());
        while (true)
        {
            List<OutboundConnection>? stale = null;
            OutboundConnection? idle = null;
            TaskCompletionSource<OutboundConnection?>? waiter = null;
            bool open = false;
            lock (host)
            {
                while (host.Idle.TryPop(out OutboundConnection? candidate))
                {
                    if (CanReuse(candidate) && candidate.Transactions < limit)
                    {
                        candidate.IdleSince = 0;
                        candidate.MessageLimit = limit;
                        idle = candidate;
                        break;
                    }
                    host.Count--;
                    (stale ??= []).Add(candidate);
                }
                host.PublishIdle();
                if (idle is null)
                {
                    if (host.Count < _options.MaxConnectionsPerHost)
                    {
                        host.Count++;
                        open = true;
                    }
                    else
                    {
                        waiter = new TaskCompletionSource<OutboundConnection?>(TaskCreationOptions.RunContinuationsAsynchronously);
                        host.Waiters.AddLast(waiter);
                    }
                }
            }
            if (stale is not null)
            {
                foreach (OutboundConnection connection in stale)
                {
                    _ = connection.QuitAsync(); // Never throws; bounded by its own timeout.
                }
            }
            if (idle is not null)
            {
                return idle;
            }
            if (open)
            {
                try
                {
                    OutboundConnection opened = await OutboundConnection.OpenAsync(remote, hostName, source, ehlo, _options,
                        _logger, cancellationToken);
                    opened.MessageLimit = limit;
                    return opened;
                }
                catch
                {
                    Release(host);
                    throw;
                }
            }
            OutboundConnection? handedOver = await WaitAsync(host, waiter!, cancellationToken);
            if (handedOver is not null)
            {
                if (handedOver.Transactions < limit)
                {
                    handedOver.MessageLimit = limit;
                    return handedOver;
                }
                // Usable under the previous lease's limit but not under this one: close it and take its slot.
                Release(host);
                _ = handedOver.QuitAsync(); // Never throws; bounded by its own timeout.
            }
            // A slot was freed rather than a connection handed over: try again.
        }
    }

    /// <summary>
    /// Gives a leased connection back: kept for the next lease when usable and below its lease's messages per
    /// connection (no RSET is needed after a finished transaction), otherwise closed with QUIT.
    /// </summary>
    public void Return(OutboundConnection connection)
    {
        if (!_hosts.TryGetValue((connection.RequestedSource, connection.EhloName, connection.RemoteEndPoint), out HostPool? host))
        {
            throw new ArgumentException("The connection was not leased from this pool.", nameof(connection));
        }
        if (_disposed || !CanReuse(connection))
        {
            Release(host);
            _ = connection.QuitAsync(); // Never throws; bounded by its own timeout.
            return;
        }
        lock (host)
        {
            while (host.Waiters.First is { } first)
            {
                host.Waiters.RemoveFirst();
                if (first.Value.TrySetResult(connection))
                {
                    return;
                }
            }
            connection.IdleSince = _time.GetTimestamp();
            host.Idle.Push(connection);
            host.PublishIdle();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        await _sweeper.DisposeAsync();
        var closing = new List<Task>();
        foreach (HostPool host in _hosts.Values)
        {
            lock (host)
            {
                while (host.Idle.TryPop(out OutboundConnection? connection))
                {
                    host.Count--;
                    closing.Add(connection.QuitAsync());
                }
                host.PublishIdle();
                foreach (TaskCompletionSource<OutboundConnection?> waiter in host.Waiters)
                {
                    waiter.TrySetException(new ObjectDisposedException(nameof(OutboundConnectionPool)));
                }
                host.Waiters.Clear();
            }
        }
        await Task.WhenAll(closing);
    }

    private bool CanReuse(OutboundConnection connection) =>
        connection.IsUsable && connection.Transactions < connection.MessageLimit
        && (connection.IdleSince == 0 || _time.GetElapsedTime(connection.IdleSince) < _options.IdleTimeout);

    private async Task<OutboundConnection?> WaitAsync(HostPool host, TaskCompletionSource<OutboundConnection?> waiter,
        CancellationToken cancellationToken)
    {
        try
        {
            return await waiter.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            lock (host)
            {
                host.Waiters.Remove(waiter);
            }
            // Return may have handed a connection over just before the cancellation won: do not leak it.
            if (waiter.Task.IsCompletedSuccessfully && waiter.Task.Result is { } connection)
            {
                Return(connection);
            }
            throw;
        }
    }

    // A slot is free (a connection closed or never opened): wake one waiter so it can open a connection itself.
    private static void Release(HostPool host)
    {
        lock (host)
        {
            host.Count--;
            while (host.Waiters.First is { } first)
            {
                host.Waiters.RemoveFirst();
                if (first.Value.TrySetResult(null))
                {
                    return;
                }
            }
        }
    }

    private void Sweep()
    {
        if (_disposed)
        {
            return;
        }
        foreach (HostPool host in _hosts.Values)
        {
            List<OutboundConnection>? expired = null;
            lock (host)
            {
                if (host.Idle.Count == 0)
                {
                    continue;
                }
                // Oldest first, so pushing the survivors back keeps the most recently used on top.
                OutboundConnection[] idle = host.Idle.Reverse().ToArray();
                host.Idle.Clear();
                foreach (OutboundConnection connection in idle)
                {
                    if (CanReuse(connection))
                    {
                        host.Idle.Push(connection);
                    }
                    else
                    {
                        (expired ??= []).Add(connection);
                    }
                }
                host.PublishIdle();
            }
            foreach (OutboundConnection connection in expired ?? [])
            {
                Log.Closing(_logger, connection.HostName, connection.RemoteEndPoint, "idle timeout");
                Release(host);
                _ = connection.QuitAsync(); // Never throws; bounded by its own timeout.
            }
        }
    }

    private sealed class HostPool
    {
        public readonly Stack<OutboundConnection> Idle = new();
        public readonly LinkedList<TaskCompletionSource<OutboundConnection?>> Waiters = new();
        public int Count;

        /// <summary>IdleSince of the connection on top of <see cref="Idle"/> (the newest), 0 when none: published for
        /// <see cref="HasIdle"/>'s lock-free read.</summary>
        public long NewestIdleSince;

        /// <summary>Call under the host's lock after every change to <see cref="Idle"/>.</summary>
        public void PublishIdle() =>
            Volatile.Write(ref NewestIdleSince, Idle.TryPeek(out OutboundConnection? newest) ? newest.IdleSince : 0);
    }
}
