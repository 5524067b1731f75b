using System.Buffers;

namespace FastMta.Benchmarks.Codec;

// Builds multi-segment sequences, as a PipeReader hands them out.
internal sealed class BenchSegment : ReadOnlySequenceSegment<byte>
{
    private BenchSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Create(params byte[][] parts)
    {
        var first = new BenchSegment(parts[0], 0);
        BenchSegment last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            var next = new BenchSegment(parts[i], last.RunningIndex + last.Memory.Length);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
