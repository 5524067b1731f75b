using System.Net;

namespace FastMta.Intake;

/// <summary>
/// Decides, at RCPT, whether a recipient is taken: relayed (queued for delivery), delivered to a local mailbox, or
/// refused with the policy's own reply; or it abstains and lets the next policy decide (<see cref="RecipientPolicyChain"/>).
/// Asked once per recipient, on the SMTP command path: a policy that can answer at once returns a completed
/// <see cref="ValueTask{TResult}"/> of the <see cref="RecipientVerdict"/> struct, which allocates nothing; one that
/// must look something up may complete later, and the session waits for it before the next command.
/// </summary>
public interface IRecipientPolicy
{
    ValueTask<RecipientVerdict> EvaluateAsync(RecipientRequest request, CancellationToken cancellationToken);
}

/// <summary>What a policy knows about one recipient and the client that names it.</summary>
public readonly struct RecipientRequest
{
    /// <summary>The recipient's address, UTF-8 (the client's bytes, valid until the verdict is given).</summary>
    public required ReadOnlyMemory<byte> Address { get; init; }

    /// <summary>The transaction's reverse-path, UTF-8 (empty: the null sender), valid until the verdict is given.</summary>
    public ReadOnlyMemory<byte> Sender { get; init; }

    /// <summary>The bare "postmaster" of RFC 5321 4.5.1 (no domain).</summary>
    public bool IsPostmaster { get; init; }

    public IPAddress? Client { get; init; }

    /// <summary>The client is in Mta:Relay:Networks.</summary>
    public bool ClientInRelayNetworks { get; init; }

    /// <summary>The AUTH identity (null: not authenticated).</summary>
    public string? AuthenticatedUser { get; init; }
}

/// <summary>What a policy decided for one recipient.</summary>
public enum RecipientDecision
{
    /// <summary>No opinion: the next policy decides (and when none does, the recipient is refused).</summary>
    Abstain,

    /// <summary>Taken, to be queued for delivery.</summary>
    Relay,

    /// <summary>Taken, for one of FastMta's own mailboxes (<see cref="RecipientVerdict.Mailbox"/>); never relayed.</summary>
    Local,

    /// <summary>Refused with <see cref="RecipientVerdict.Reply"/>.</summary>
    Reject,
}

/// <summary>A policy's decision: a small struct (so the common, synchronous verdict costs no allocation).</summary>
public readonly struct RecipientVerdict
{
    private RecipientVerdict(RecipientDecision decision, ReadOnlyMemory<byte> reply, string? reason, ILocalMailbox? mailbox)
    {
        Decision = decision;
        Reply = reply;
        Reason = reason;
        Mailbox = mailbox;
    }

    public RecipientDecision Decision { get; }

    /// <summary>For <see cref="RecipientDecision.Reject"/>: the whole SMTP reply, CRLF included, e.g.
    /// "550 5.1.1 No such user\r\n" (pre-encoded once by the policy, not per recipient).</summary>
    public ReadOnlyMemory<byte> Reply { get; }

    /// <summary>For <see cref="RecipientDecision.Reject"/>: the metric label of the refusal ("relay_denied").</summary>
    public string? Reason { get; }

    /// <summary>For <see cref="RecipientDecision.Local"/>: the mailbox that takes the message.</summary>
    public ILocalMailbox? Mailbox { get; }

    public static RecipientVerdict Abstain => default;

    public static RecipientVerdict Relay { get; } = new(RecipientDecision.Relay, default, null, null);

    public static RecipientVerdict Local(ILocalMailbox mailbox) => new(RecipientDecision.Local, default, null, mailbox);

    public static RecipientVerdict Reject(ReadOnlyMemory<byte> reply, string reason) => new(RecipientDecision.Reject, reply, reason, null);
}
