using System.Buffers;

namespace FastMta.Smtp.Tests;

// Plays the role of the session's read loop: data arrives chunk by chunk, unconsumed bytes stay pending (as in a
// PipeReader after AdvanceTo(consumed, examined)) and are presented again in front of the next chunk.
internal static class FramerDriver
{
    public static List<(LineStatus Status, string Line)> Run(byte[][] chunks, int maxLength = CommandLineFramer.DefaultMaxLength)
    {
        var framer = new CommandLineFramer(maxLength);
        return Run(ref framer, chunks, out _);
    }

    public static List<(LineStatus Status, string Line)> Run(ref CommandLineFramer framer, byte[][] chunks, out int maxPending)
    {
        var results = new List<(LineStatus, string)>();
        byte[] scratch = new byte[framer.MaxLength];
        byte[] pending = [];
        maxPending = 0;
        foreach (byte[] chunk in chunks)
        {
            ReadOnlySequence<byte> buffer = TestSequence.Create(pending, chunk);
            var reader = new SequenceReader<byte>(buffer);
            while (true)
            {
                LineStatus status = framer.TryReadLine(ref reader, scratch, out ReadOnlySpan<byte> line);
                if (status == LineStatus.Incomplete)
                {
                    break;
                }
                results.Add((status, TestSequence.Text(line)));
            }
            pending = buffer.Slice(reader.Position).ToArray();
            maxPending = Math.Max(maxPending, pending.Length);
        }
        return results;
    }
}
