using FastMta.Intake;
using FastMta.Smtp;

namespace FastMta.Inbound;

/// <summary>
/// The relay rule, the last word at RCPT: FastMta has no mailboxes of its own for the bare postmaster (550 5.1.1), and
/// relays only for clients in Mta:Relay:Networks or authenticated with AUTH (554 5.7.1 otherwise). Policies before it
/// in the chain (local domains, later suppression) decide first.
/// </summary>
public sealed class RelayRecipientPolicy : IRecipientPolicy
{
    private static readonly ReadOnlyMemory<byte> NoLocalMailboxes = SmtpReplies.NoLocalMailboxes.ToArray();
    private static readonly ReadOnlyMemory<byte> RelayDenied = SmtpReplies.RelayDenied.ToArray();

    private RelayRecipientPolicy()
    {
    }

    public static RelayRecipientPolicy Instance { get; } = new();

    public ValueTask<RecipientVerdict> EvaluateAsync(RecipientRequest request, CancellationToken cancellationToken)
    {
        if (request.IsPostmaster)
        {
            return ValueTask.FromResult(RecipientVerdict.Reject(NoLocalMailboxes, "no_local_mailboxes"));
        }
        if (!request.ClientInRelayNetworks && request.AuthenticatedUser is null)
        {
            return ValueTask.FromResult(RecipientVerdict.Reject(RelayDenied, "relay_denied"));
        }
        return ValueTask.FromResult(RecipientVerdict.Relay);
    }

    /// <summary>The SMTP server's chain: mail for local domains first (taken from any client), then
    /// <paramref name="before"/> (suppression, say), then the relay rule.</summary>
    public static IRecipientPolicy Chain(LocalDomains localDomains, IEnumerable<IRecipientPolicy> before)
    {
        List<IRecipientPolicy> policies = [];
        if (!localDomains.IsEmpty)
        {
            policies.Add(new LocalDomainPolicy(localDomains));
        }
        policies.AddRange(before);
        policies.Add(Instance);
        return policies.Count == 1 ? Instance : new RecipientPolicyChain(policies);
    }
}
