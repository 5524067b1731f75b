namespace FastMta.Spool;

/// <summary>
/// Told of every message the spool commits (the queue manager indexes it). Registered once per spool with
/// <see cref="MessageSpool.SetCommitListener"/>.
/// <para>
/// Contract: <see cref="OnMessageCommitted"/> runs synchronously on the committing caller (the SMTP session, the HTTP
/// request, the DSN writer), after the commit is durable and before that caller can send its 250 (or 202). The
/// writer's pin on the log is still held, so a listener that indexes the message right here can never see it
/// truncated away. It must therefore not block, must not throw (an exception reaches the client's commit as a failure
/// although the message is durable) and must not do I/O: index, signal, return.
/// </para>
/// </summary>
public interface ISpoolCommitListener
{
    /// <summary>A message has been committed durably; <paramref name="envelope"/> is what the queue keeps of it.</summary>
    void OnMessageCommitted(SpooledEnvelope envelope);
}
