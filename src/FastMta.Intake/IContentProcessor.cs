using System.Buffers;

namespace FastMta.Intake;

/// <summary>
/// One step of the content chain between a source and the spool: it receives the message's bytes as an
/// <see cref="IBufferWriter{T}"/> and passes them on (changed or not) to the next step. The pool-header stripper is
/// the first; a DKIM body hasher, say, would be one more. One instance serves one <see cref="IntakeTransaction"/>'s
/// messages in turn; it must not allocate per message on the common path.
/// </summary>
public interface IContentProcessor : IBufferWriter<byte>, IDisposable
{
    /// <summary>Starts a message whose bytes go on to <paramref name="next"/>.</summary>
    void Reset(IBufferWriter<byte> next);

    /// <summary>The content is complete: writes out what it held back, then says whether the message may be taken
    /// (it may set envelope fields on <paramref name="transaction"/>, as the pool header sets the pool).</summary>
    IntakeRejection Complete(IntakeTransaction transaction);
}
