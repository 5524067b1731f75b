using FastMta.Spool;

namespace FastMta.Queue;

/// <summary>Collects live messages during the start-up scan: envelopes, their recorded states, copy-forward moves.</summary>
internal sealed class RebuildVisitor : ISpoolVisitor
{
    public Dictionary<long, QueuedMessage> Messages { get; } = [];

    /// <summary>Messages dropped during the scan because every recipient was final.</summary>
    public int Finished { get; private set; }

    public void OnEnvelope(SpooledEnvelope envelope)
    {
        if (envelope.ReplacesAddress is long replaced)
        {
            Messages.Remove(replaced); // the copy carries the states recorded so far
        }

        Messages[envelope.LogAddress] = new QueuedMessage(envelope);
    }

    public void OnStates(long envelopeAddress, ReadOnlySpan<RecipientState> states)
    {
        if (Messages.TryGetValue(envelopeAddress, out QueuedMessage? message))
        {
            foreach (RecipientState state in states)
            {
                message.Apply(state);
            }

            if (message.Remaining == 0)
            {
                Messages.Remove(envelopeAddress); // keeps the scan's memory to live messages
                Finished++;
            }
        }
    }
}
