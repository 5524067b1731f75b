using System.Buffers;

namespace FastMta.Queue.Tests.Bounces;

/// <summary>Builds a ReadOnlySequence split at chosen offsets, the way spool reads arrive as chained log buffers.</summary>
internal static class Sequences
{
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        if (cuts.Length == 0)
        {
            return new ReadOnlySequence<byte>(data);
        }

        Segment? first = null;
        Segment? last = null;
        var start = 0;
        foreach (var cut in cuts.Append(data.Length))
        {
            var piece = data.AsMemory(start, cut - start);
            if (first is null)
            {
                first = last = new Segment(piece, 0);
            }
            else
            {
                last = last!.Append(piece);
            }

            start = cut;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
