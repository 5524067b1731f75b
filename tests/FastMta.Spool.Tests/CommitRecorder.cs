namespace FastMta.Spool.Tests;

/// <summary>A commit listener that hands each committed envelope to the test.</summary>
internal sealed class CommitRecorder(Action<SpooledEnvelope> onCommitted) : ISpoolCommitListener
{
    public void OnMessageCommitted(SpooledEnvelope envelope) => onCommitted(envelope);
}
