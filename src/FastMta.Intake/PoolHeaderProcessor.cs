using System.Buffers;
using FastMta.Smtp;

namespace FastMta.Intake;

/// <summary>
/// Takes the X-FastMta-Pool field out of the header section (it is an instruction to this MTA and never travels on)
/// and puts the pool it names into the envelope; a message naming no configured pool is refused
/// (<see cref="IntakeRejection.UnknownPool"/>): silently sending it from another pool's addresses would defeat the
/// sender's choice.
/// </summary>
internal sealed class PoolHeaderProcessor(Func<string, bool> isKnownPool) : IContentProcessor
{
    private readonly HeaderFieldStripper _stripper = new(IntakePipeline.PoolHeaderName);

    public void Reset(IBufferWriter<byte> next) => _stripper.Reset(next);

    public IntakeRejection Complete(IntakeTransaction transaction)
    {
        _stripper.Complete();
        if (!_stripper.Found)
        {
            return IntakeRejection.None;
        }
        string? pool = _stripper.Value;
        if (pool is null || pool.Length == 0 || !isKnownPool(pool))
        {
            transaction.RefusedPool = pool ?? "";
            return IntakeRejection.UnknownPool;
        }
        transaction.SetPool(pool);
        return IntakeRejection.None;
    }

    public void Advance(int count) => _stripper.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _stripper.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _stripper.GetSpan(sizeHint);

    public void Dispose() => _stripper.Dispose();
}
