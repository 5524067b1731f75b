using System.Buffers;
using System.Text;
using FastMta.Smtp;

namespace FastMta.Fuzz;

// CommandLineFramer + CommandParser (+ the argument parsers the session calls per verb). Parameter: the framer's
// line limit (0-2: the default 512). Invariants: every result but Incomplete consumes; a line never exceeds the
// limit and holds no LF; what stays pending after Incomplete is shorter than the limit (memory stays bounded);
// framing equals a reference model over the whole input, whatever the arrival pattern; the verb equals a
// case-insensitive reference match; argument parsers return slices of their argument.
internal static class CommandTarget
{
    private static readonly (string Name, SmtpVerb Verb)[] Verbs =
    [
        ("HELO", SmtpVerb.Helo), ("EHLO", SmtpVerb.Ehlo), ("MAIL", SmtpVerb.Mail), ("RCPT", SmtpVerb.Rcpt),
        ("DATA", SmtpVerb.Data), ("BDAT", SmtpVerb.Bdat), ("RSET", SmtpVerb.Rset), ("NOOP", SmtpVerb.Noop),
        ("QUIT", SmtpVerb.Quit), ("VRFY", SmtpVerb.Vrfy), ("EXPN", SmtpVerb.Expn), ("HELP", SmtpVerb.Help),
        ("AUTH", SmtpVerb.Auth), ("STARTTLS", SmtpVerb.StartTls),
    ];

    public static void Run(ReadOnlySpan<byte> input)
    {
        var fuzz = new FuzzInput(input);
        int maxLength = fuzz.Parameter < 3 ? CommandLineFramer.DefaultMaxLength : fuzz.Parameter;
        List<(LineStatus, string)> expected = Reference(fuzz.Payload, maxLength);
        foreach (byte[][] arrivals in fuzz.Patterns())
        {
            Same(expected, Arrivals(arrivals, maxLength), "arrivals");
            Same(expected, Segments(arrivals, maxLength), "segments");
        }

        foreach ((LineStatus status, string line) in expected)
        {
            if (status == LineStatus.Complete)
            {
                ParseCommand(Encoding.Latin1.GetBytes(line));
            }
        }
    }

    // RFC 5321 4.5.3.1.4 over the whole input: a line of at most maxLength octets with its LF is a line (CRLF:
    // Complete, else BareLineFeed); maxLength octets without an LF make it TooLong, reported at its LF.
    private static List<(LineStatus, string)> Reference(ReadOnlySpan<byte> data, int maxLength)
    {
        var lines = new List<(LineStatus, string)>();
        int position = 0;
        while (position < data.Length)
        {
            ReadOnlySpan<byte> rest = data[position..];
            int lf = rest.IndexOf((byte)'\n');
            if (lf >= 0 && lf < maxLength)
            {
                bool crlf = lf > 0 && rest[lf - 1] == (byte)'\r';
                lines.Add(crlf ? (LineStatus.Complete, Encoding.Latin1.GetString(rest[..(lf - 1)])) : (LineStatus.BareLineFeed, ""));
                position += lf + 1;
            }
            else if (rest.Length >= maxLength)
            {
                if (lf < 0)
                {
                    break; // still discarding
                }

                lines.Add((LineStatus.TooLong, ""));
                position += lf + 1;
            }
            else
            {
                break; // incomplete
            }
        }

        return lines;
    }

    // The session's read loop: every arrival is appended to what was left pending, as a PipeReader presents it.
    private static List<(LineStatus, string)> Arrivals(byte[][] arrivals, int maxLength)
    {
        var framer = new CommandLineFramer(maxLength);
        var lines = new List<(LineStatus, string)>();
        byte[] scratch = new byte[maxLength];
        byte[] pending = [];
        foreach (byte[] arrival in arrivals)
        {
            ReadOnlySequence<byte> buffer = FuzzSequence.Create(pending, arrival);
            var reader = new SequenceReader<byte>(buffer);
            Frame(ref framer, ref reader, scratch, lines);
            pending = buffer.Slice(reader.Position).ToArray();
        }

        return lines;
    }

    // Everything at once, as one sequence with a segment per arrival.
    private static List<(LineStatus, string)> Segments(byte[][] parts, int maxLength)
    {
        var framer = new CommandLineFramer(maxLength);
        var lines = new List<(LineStatus, string)>();
        var reader = new SequenceReader<byte>(FuzzSequence.Create(parts));
        Frame(ref framer, ref reader, new byte[maxLength], lines);
        return lines;
    }

    private static void Frame(ref CommandLineFramer framer, ref SequenceReader<byte> reader, byte[] scratch, List<(LineStatus, string)> lines)
    {
        while (true)
        {
            long before = reader.Consumed;
            LineStatus status = framer.TryReadLine(ref reader, scratch, out ReadOnlySpan<byte> line);
            if (status == LineStatus.Incomplete)
            {
                FuzzInvariantException.Check(reader.Remaining < framer.MaxLength, "Incomplete leaves MaxLength octets or more pending");
                FuzzInvariantException.Check(reader.UnreadSequence.PositionOf((byte)'\n') is null, "Incomplete leaves an LF pending");
                return;
            }

            FuzzInvariantException.Check(reader.Consumed > before, $"{status} consumed nothing");
            FuzzInvariantException.Check(line.Length <= framer.MaxLength - 2, "a line is longer than the limit");
            FuzzInvariantException.Check(!line.Contains((byte)'\n'), "a line holds an LF");
            FuzzInvariantException.Check(status == LineStatus.Complete || line.IsEmpty, $"{status} hands out a line");
            lines.Add((status, Encoding.Latin1.GetString(line)));
        }
    }

    private static void ParseCommand(ReadOnlySpan<byte> line)
    {
        SmtpVerb verb = CommandParser.ParseVerb(line, out ReadOnlySpan<byte> argument);
        SmtpVerb expected = SmtpVerb.Unknown;
        ReadOnlySpan<byte> expectedArgument = default;
        if (!line.ContainsAny((byte)0, (byte)'\r'))
        {
            foreach ((string name, SmtpVerb candidate) in Verbs)
            {
                if (line.Length >= name.Length && Ascii.EqualsIgnoreCase(line[..name.Length], name)
                    && (line.Length == name.Length || line[name.Length] == (byte)' '))
                {
                    expected = candidate;
                    expectedArgument = line.Length == name.Length ? default : line[(name.Length + 1)..];
                }
            }
        }

        FuzzInvariantException.Check(verb == expected, $"verb {verb}, reference {expected}");
        FuzzInvariantException.Check(argument.SequenceEqual(expectedArgument), "argument differs from the reference");

        ReadOnlySpan<byte> text = verb == SmtpVerb.Unknown ? line : argument;
        if (PathParser.TryParseMailFrom(text, out MailFromCommand mail) == PathStatus.Ok)
        {
            FuzzInvariantException.Check(IsSlice(text, mail.Address) && IsSlice(text, mail.Parameters), "MAIL address or parameters not a slice of the argument");
            FuzzInvariantException.Check(mail.DeclaredSize >= -1, "MAIL SIZE negative");
        }

        foreach (bool smtpUtf8 in (ReadOnlySpan<bool>)[false, true])
        {
            if (PathParser.TryParseRcptTo(text, smtpUtf8, out RcptToCommand rcpt) == PathStatus.Ok)
            {
                FuzzInvariantException.Check(IsSlice(text, rcpt.Address) && IsSlice(rcpt.Address, rcpt.Domain), "RCPT address or domain not a slice");
                FuzzInvariantException.Check(rcpt.IsPostmaster || !rcpt.Domain.IsEmpty, "RCPT accepted without a domain");
            }
        }

        if (PathParser.TryParseHeloDomain(text, out ReadOnlySpan<byte> domain))
        {
            FuzzInvariantException.Check(!domain.IsEmpty && IsSlice(text, domain), "HELO domain empty or not a slice");
        }

        if (PathParser.TryParseBdat(text, out long chunkSize, out _))
        {
            FuzzInvariantException.Check(chunkSize >= 0, "BDAT size negative");
        }
    }

    private static bool IsSlice(ReadOnlySpan<byte> outer, ReadOnlySpan<byte> inner) =>
        inner.IsEmpty || (outer.Overlaps(inner, out int offset) && offset >= 0 && offset + inner.Length <= outer.Length);

    private static void Same(List<(LineStatus, string)> expected, List<(LineStatus, string)> actual, string pattern)
    {
        FuzzInvariantException.Check(expected.Count == actual.Count, $"{pattern}: {actual.Count} lines, reference {expected.Count}");
        for (int i = 0; i < expected.Count; i++)
        {
            FuzzInvariantException.Check(expected[i] == actual[i], $"{pattern}: line {i} is {actual[i]}, reference {expected[i]}");
        }
    }
}
