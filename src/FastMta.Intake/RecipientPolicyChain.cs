using System.Runtime.CompilerServices;

namespace FastMta.Intake;

/// <summary>Policies asked in order; the first that does not abstain decides. A chain whose policies all abstain
/// abstains too, and the session refuses such a recipient (fail closed).</summary>
public sealed class RecipientPolicyChain(IReadOnlyList<IRecipientPolicy> policies) : IRecipientPolicy
{
    public ValueTask<RecipientVerdict> EvaluateAsync(RecipientRequest request, CancellationToken cancellationToken)
    {
        for (int i = 0; i < policies.Count; i++)
        {
            ValueTask<RecipientVerdict> pending = policies[i].EvaluateAsync(request, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueAsync(pending, i, request, cancellationToken);
            }
            if (pending.Result.Decision != RecipientDecision.Abstain)
            {
                return pending;
            }
        }
        return ValueTask.FromResult(RecipientVerdict.Abstain);
    }

    // A policy that had to wait: the rest of the chain is asked after it, as above.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RecipientVerdict> ContinueAsync(ValueTask<RecipientVerdict> pending, int index,
        RecipientRequest request, CancellationToken cancellationToken)
    {
        RecipientVerdict verdict = await pending.ConfigureAwait(false);
        for (int i = index + 1; verdict.Decision == RecipientDecision.Abstain && i < policies.Count; i++)
        {
            verdict = await policies[i].EvaluateAsync(request, cancellationToken).ConfigureAwait(false);
        }
        return verdict;
    }
}
