namespace FastMta.Intake;

/// <summary>A recipient in a local domain (<see cref="LocalDomains"/>) is taken for its mailbox, from any client: the
/// relay rule does not apply to mail for FastMta itself (bounces, complaints come from anywhere). Abstains otherwise.</summary>
public sealed class LocalDomainPolicy(LocalDomains domains) : IRecipientPolicy
{
    public ValueTask<RecipientVerdict> EvaluateAsync(RecipientRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(domains.TryFind(request.Address.Span, out ILocalMailbox? mailbox)
            ? RecipientVerdict.Local(mailbox)
            : RecipientVerdict.Abstain);
}
