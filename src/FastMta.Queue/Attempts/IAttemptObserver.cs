namespace FastMta.Queue;

/// <summary>
/// Sees every delivery attempt the queue makes, with its shaping identity and its results: the seam for accounting that
/// needs both (traffic shaping's connection rate, reputation, per-source statistics).
/// <para>
/// Contract: <see cref="OnAttempt"/> is called exactly once after every attempt the agent was asked to make (or that
/// failed locally before it could be: the body could not be read, the agent threw), on the attempt's worker, outside
/// the queue's lock, before the attempt's slot is released and before its outcomes are recorded. Not called for an
/// attempt cut short by shutdown, nor for an administrator's bounce or delete. Implementations must not block (the
/// destination's next attempt waits for the slot) and must not throw; the queue catches, logs and counts
/// (fastmta_queue_errors_total{kind="observer"}) an observer that does, and delivery goes on. Observers run in the
/// order they were given, possibly for several attempts at once on different threads.
/// </para>
/// </summary>
public interface IAttemptObserver
{
    void OnAttempt(in AttemptRecord record);
}
