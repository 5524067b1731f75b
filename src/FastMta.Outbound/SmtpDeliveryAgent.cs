using System.Diagnostics;
using System.Net;
using FastMta.Outbound.Dns;
using FastMta.Queue;
using FastMta.Shaping;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Outbound;

/// <summary>
/// The queue's <see cref="IDeliveryAgent"/> over SMTP: resolve the domain, then try its hosts in order (RFC 5321 5:
/// a host that cannot be reached or refuses the session is skipped, the next one tried), run the transaction on a
/// pooled connection and map the replies per recipient. Never throws for delivery problems.
/// </summary>
public sealed class SmtpDeliveryAgent : IDeliveryAgent, IIdleConnections
{
    private readonly IDestinationResolver _resolver;
    private readonly OutboundConnectionPool _pool;
    private readonly ILogger _logger;
    private readonly OutboundMetrics _metrics = OutboundMetrics.Instance;

    public SmtpDeliveryAgent(IDestinationResolver resolver, OutboundConnectionPool pool, ILogger<SmtpDeliveryAgent>? logger = null)
    {
        _resolver = resolver;
        _pool = pool;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>Whether the next attempt to <paramref name="domain"/> from <paramref name="source"/> would reuse an idle
    /// pooled connection: only the host tried first counts (a fallback host's connection would not be used), and only
    /// with the domain's resolution at hand (cached or routed: no lookup is started). Lock-free: traffic shaping asks
    /// under the queue's lock.</summary>
    public bool HasIdleConnection(EgressSource source, string domain)
    {
        if (!_resolver.TryResolveWithoutLookup(domain, out Destination destination)
            || destination.Status != ResolutionStatus.Resolved || destination.Hosts.Count == 0)
        {
            return false; // without an answer at hand no connection for it can be open either
        }

        DestinationHost first = destination.Hosts[0];
        return _pool.HasIdle(new IPEndPoint(first.Address, first.Port), source.Address ?? _pool.Options.SourceAddress, source.EhloName);
    }

    public async Task<DeliveryResult> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            DeliveryResult result = await DeliverCoreAsync(request, cancellationToken);
            foreach (RecipientResult recipient in result.Recipients)
            {
                _metrics.Recipient(recipient.Outcome switch
                {
                    RecipientOutcome.Delivered => "delivered",
                    RecipientOutcome.Deferred => "deferred",
                    _ => "failed",
                });
            }
            return result;
        }
        finally
        {
            _metrics.DeliveryDuration(Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task<DeliveryResult> DeliverCoreAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        Destination destination = await _resolver.ResolveAsync(request.Domain, cancellationToken);
        switch (destination.Status)
        {
            case ResolutionStatus.PermanentFailure:
                Log.ResolutionFailed(_logger, request.Domain, "permanent", destination.Detail);
                return All(request, new RecipientResult(RecipientOutcome.Failed, 550,
                    Or(destination.EnhancedStatus, "5.1.2"), destination.Detail));
            case ResolutionStatus.TemporaryFailure:
                Log.ResolutionFailed(_logger, request.Domain, "temporary", destination.Detail);
                return All(request, new RecipientResult(RecipientOutcome.Deferred, 451,
                    Or(destination.EnhancedStatus, "4.4.3"), destination.Detail));
        }

        // Traffic shaping's choices win; the pool's options are the defaults.
        IPAddress? source = request.SourceAddress ?? _pool.Options.SourceAddress;
        OutboundConnectionException? lastError = null;
        DestinationHost? lastHost = null;
        int opened = 0; // connections this attempt opened or tried to (traffic shaping's connection rate)
        foreach (DestinationHost host in destination.Hosts)
        {
            lastHost = host;
            var remote = new IPEndPoint(host.Address, host.Port);
            // A pooled connection the receiver has meanwhile dropped fails before MAIL is answered; such a failure
            // settled nothing, so it is retried once on a fresh connection to the same host.
            for (int attempt = 0; attempt < 2; attempt++)
            {
                OutboundConnection connection;
                try
                {
                    connection = await _pool.LeaseAsync(remote, host.Name, source, request.EhloName,
                        request.MaxMessagesPerConnection, cancellationToken);
                }
                catch (OutboundConnectionException e)
                {
                    opened++;
                    lastError = e;
                    break;
                }
                bool reused = connection.Transactions > 0;
                opened += reused ? 0 : 1;
                TransactionOutcome outcome;
                try
                {
                    _metrics.Transaction();
                    outcome = await connection.SendAsync(request, cancellationToken);
                }
                finally
                {
                    _pool.Return(connection);
                }
                if (outcome.Failure is not null && !outcome.Started && reused && attempt == 0)
                {
                    continue;
                }
                LogOutcome(request, host, remote, outcome);
                return new DeliveryResult
                {
                    Recipients = outcome.Recipients,
                    RemoteHost = host.Name,
                    RemoteAddress = remote.ToString(),
                    SourceAddress = connection.LocalEndPoint?.Address.ToString(),
                    ConnectionsOpened = opened,
                };
            }
        }

        string detail = lastError?.Message ?? $"no address to deliver to for {request.Domain}";
        Log.AllHostsFailed(_logger, request.Domain, request.Recipients.Count, detail);
        return new DeliveryResult
        {
            Recipients = Fill(request, new RecipientResult(RecipientOutcome.Deferred, lastError?.ReplyCode ?? 451,
                lastError?.EnhancedStatus ?? "4.4.3", detail)),
            RemoteHost = lastHost?.Name,
            ConnectionsOpened = opened,
        };
    }

    private void LogOutcome(DeliveryRequest request, DestinationHost host, IPEndPoint remote, TransactionOutcome outcome)
    {
        int delivered = 0, deferred = 0, failed = 0;
        foreach (RecipientResult recipient in outcome.Recipients)
        {
            _ = recipient.Outcome switch
            {
                RecipientOutcome.Delivered => delivered++,
                RecipientOutcome.Deferred => deferred++,
                _ => failed++,
            };
        }
        string reply = outcome.Recipients.Count > 0 ? $"{outcome.Recipients[^1].ReplyCode} {outcome.Recipients[^1].Response}" : "";
        Log.Transaction(_logger, request.MessageId.ToString(), host.Name, remote.ToString(), delivered, deferred, failed, reply);
    }

    private static DeliveryResult All(DeliveryRequest request, RecipientResult result) =>
        new() { Recipients = Fill(request, result), ConnectionsOpened = 0 }; // decided before any connection

    private static RecipientResult[] Fill(DeliveryRequest request, RecipientResult result)
    {
        var results = new RecipientResult[request.Recipients.Count];
        Array.Fill(results, result);
        return results;
    }

    private static string Or(string value, string fallback) => value.Length > 0 ? value : fallback;
}
