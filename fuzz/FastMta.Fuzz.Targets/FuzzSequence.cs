using System.Buffers;

namespace FastMta.Fuzz;

// Multi-segment ReadOnlySequence<byte> inputs, so every parser sees lines and terminators cut by segment boundaries.
internal sealed class FuzzSequence : ReadOnlySequenceSegment<byte>
{
    private FuzzSequence(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>One segment per part; empty parts become empty segments, which readers must skip.</summary>
    public static ReadOnlySequence<byte> Create(params byte[][] parts)
    {
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new FuzzSequence(parts[0], 0);
        FuzzSequence last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            var next = new FuzzSequence(parts[i], last.RunningIndex + last.Memory.Length);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
