using Queue = FastMta.Queue;
using Shaping = FastMta.Shaping;

namespace FastMta.Server.Admin;

/// <summary>
/// The queue's and the shaper's admin views as the admin API's wire records (FastMta.Api.Contracts, which the CLI
/// reads). Field for field: the JSON is what the views would serialize to; the copy is what lets the queue and the
/// shaper change their own records without changing the wire unnoticed. Operator requests only, never the delivery path.
/// </summary>
internal static class AdminContracts
{
    public static QueueSummary ToContract(this Queue.QueueSummary s) =>
        new(s.Messages, s.Pending, s.InFlight, s.Deferred, s.DestinationCount, [.. s.Destinations.Select(ToContract)]);

    public static DestinationSummary ToContract(this Queue.DestinationSummary d) =>
        new(d.Domain, d.Messages, d.Pending, d.InFlight, d.Deferred, d.ActiveAttempts, d.NextAttempt, d.SuspendedUntil);

    public static QueuedMessageInfo ToContract(this Queue.QueuedMessageInfo m) =>
        new(m.Id, m.Sender, m.ReceivedAt, m.Size, [.. m.Recipients.Select(ToContract)], m.Pool);

    public static QueuedRecipientInfo ToContract(this Queue.QueuedRecipientInfo r) =>
        new(r.Address, r.Domain, r.Status, r.Attempts, r.NextAttempt);

    public static DestinationQueueInfo ToContract(this Queue.DestinationQueueInfo q) =>
        new(q.Pool, q.Domain, q.Site, q.Rule, q.WaitingTransactions, q.WaitingRecipients, q.ActiveAttempts, q.ShapedUntil,
            q.WaitingForConnection, q.Suspended);

    public static AdminOutcome ToContract(this Queue.AdminOutcome o) => new(o.Messages, o.Recipients, o.SkippedInFlight);

    public static ShapingState ToContract(this Shaping.ShapingStateSnapshot s) =>
        new(s.Source, s.Rule, s.Key, s.MessagesPerSecond, s.TokensAvailable, s.NextTokenAt, s.ConnectionsInUse, s.MaxConnections,
            s.WarmupSentToday, s.WarmupCapToday, s.WarmupSentThisHour, s.WarmupHourlyCap);
}
