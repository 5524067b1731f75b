using System.Buffers;
using System.Text;
using FastMta.Smtp;

namespace FastMta.Fuzz;

// ReplyParser.TryParse, reply after reply, as the client session reads a pipelined response stream. Parameter:
// unused. Invariants: a reply that is not Complete consumes nothing; a Complete one consumes at least "ddd" CRLF,
// has 1 to MaxLines lines of one code in 200-559, each line as the reference split of the consumed octets gives it;
// the replies and the final status are the same whole, split in two and in small segments; a prefix of the input
// parses as Incomplete or exactly as the whole does.
internal static class ReplyTarget
{
    private readonly record struct Parsed(ReplyStatus Status, long End, string Reply);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var fuzz = new FuzzInput(input);
        byte[] payload = fuzz.Payload.ToArray();
        List<Parsed> expected = ParseAll(FuzzSequence.Create(payload), payload);
        foreach (byte[][] parts in fuzz.Patterns())
        {
            List<Parsed> actual = ParseAll(FuzzSequence.Create(parts), payload);
            FuzzInvariantException.Check(actual.SequenceEqual(expected), $"{parts.Length} segments parse differently from one");
        }

        // The PipeReader contract: fewer octets give Incomplete, or the same first result when it fits.
        var prefix = FuzzSequence.Create(payload[..fuzz.Split], []);
        ReplyStatus status = ReplyParser.TryParse(prefix, out SequencePosition consumed, out SmtpReply? reply);
        Parsed first = expected[0];
        if (status == ReplyStatus.Incomplete)
        {
            FuzzInvariantException.Check(first.Status != ReplyStatus.Complete || first.End > fuzz.Split,
                "a prefix holding a whole reply is Incomplete");
        }
        else
        {
            var got = new Parsed(status, prefix.Length - prefix.Slice(consumed).Length, Describe(reply));
            FuzzInvariantException.Check(got == first, $"the prefix of {fuzz.Split} octets gives {got}, the whole {first}");
        }
    }

    private static List<Parsed> ParseAll(ReadOnlySequence<byte> input, byte[] payload)
    {
        var results = new List<Parsed>();
        long offset = 0;
        while (true)
        {
            ReadOnlySequence<byte> rest = input.Slice(offset);
            ReplyStatus status = ReplyParser.TryParse(rest, out SequencePosition consumed, out SmtpReply? reply);
            // Not rest.Slice(0, consumed): the BCL throws on that when consumed is the start of an empty first segment.
            long length = rest.Length - rest.Slice(consumed).Length;
            if (status != ReplyStatus.Complete)
            {
                FuzzInvariantException.Check(length == 0 && reply is null, $"{status} consumed {length} octets or gave a reply");
                results.Add(new Parsed(status, offset, ""));
                return results;
            }

            FuzzInvariantException.Check(reply is not null && length >= 5, "a Complete reply without a reply or under 5 octets");
            Check(reply!, payload.AsSpan((int)offset, (int)length));
            offset += length;
            results.Add(new Parsed(status, offset, Describe(reply)));
        }
    }

    // Reference: the consumed octets are CRLF-ended lines "ddd-text" ... "ddd text" (or "ddd").
    private static void Check(SmtpReply reply, ReadOnlySpan<byte> consumed)
    {
        FuzzInvariantException.Check(reply.Code is >= 200 and <= 559, $"code {reply.Code}");
        FuzzInvariantException.Check(reply.Lines.Count is >= 1 and <= ReplyParser.MaxLines, $"{reply.Lines.Count} lines");
        FuzzInvariantException.Check(reply.EnhancedStatus.Length == 0 || reply.EnhancedStatus[0] - '0' == reply.Code / 100,
            $"enhanced status {reply.EnhancedStatus} for {reply.Code}");
        int line = 0;
        while (!consumed.IsEmpty)
        {
            int lf = consumed.IndexOf((byte)'\n');
            FuzzInvariantException.Check(lf >= 4 && consumed[lf - 1] == (byte)'\r' && lf + 1 <= ReplyParser.MaxLineLength, "a line without CRLF, or too long");
            ReadOnlySpan<byte> text = consumed[..(lf - 1)];
            bool last = lf + 1 == consumed.Length;
            FuzzInvariantException.Check(Encoding.ASCII.GetString(text[..3]) == reply.Code.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "a line's code differs from the reply's");
            FuzzInvariantException.Check(text.Length == 3 ? last : text[3] == (last ? (byte)' ' : (byte)'-'), "a line's separator is wrong");
            string expected = text.Length == 3 ? "" : Encoding.UTF8.GetString(text[4..]);
            FuzzInvariantException.Check(line < reply.Lines.Count && reply.Lines[line] == expected, $"line {line} text differs");
            consumed = consumed[(lf + 1)..];
            line++;
        }

        FuzzInvariantException.Check(line == reply.Lines.Count, "line count differs");
    }

    private static string Describe(SmtpReply? reply) =>
        reply is null ? "" : $"{reply.Code}|{reply.EnhancedStatus}|{string.Join("\n", reply.Lines)}";
}
