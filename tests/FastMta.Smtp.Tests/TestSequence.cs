using System.Buffers;
using System.Text;

namespace FastMta.Smtp.Tests;

// Builds multi-segment ReadOnlySequence<byte> inputs, so every parser is exercised on fragmented buffers.
internal sealed class TestSequenceSegment : ReadOnlySequenceSegment<byte>
{
    public TestSequenceSegment(ReadOnlyMemory<byte> memory) => Memory = memory;

    public TestSequenceSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new TestSequenceSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }
}

internal static class TestSequence
{
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    // One segment per part; empty parts become empty segments (SequenceReader must skip them).
    public static ReadOnlySequence<byte> Create(params byte[][] parts)
    {
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        var first = new TestSequenceSegment(parts[0]);
        TestSequenceSegment last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            last = last.Append(parts[i]);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    // Splits `data` at the given ascending positions (duplicates give empty segments).
    public static byte[][] Split(byte[] data, params int[] positions)
    {
        var parts = new List<byte[]>();
        int start = 0;
        foreach (int p in positions)
        {
            parts.Add(data[start..p]);
            start = p;
        }
        parts.Add(data[start..]);
        return parts.ToArray();
    }

    public static ReadOnlySequence<byte> SplitSequence(byte[] data, params int[] positions) => Create(Split(data, positions));
}
