using FastMta.Shaping;

namespace FastMta.Queue;

/// <summary>
/// Settles traffic shaping's connection rate after each attempt: the shaper charged one connection when it admitted
/// the attempt, and learns here how many the attempt really opened (0 when it reused a pooled connection), so
/// ConnectionsPerMinute counts real connections.
/// </summary>
public sealed class ShapingSettlement(ITrafficShaper shaper) : IAttemptObserver
{
    public void OnAttempt(in AttemptRecord record)
    {
        if (record.Slot.IsValid)
        {
            shaper.ConnectionsOpened(record.Slot, record.ConnectionsOpened);
        }
    }
}
