using System.Buffers;
using System.Text;
using FastMta.Smtp;

namespace FastMta.Fuzz;

// HeaderFieldStripper for X-FastMta-Pool. Parameter: unused. Invariants: the output, Found, Value and
// ValueTooLong equal a reference model (every field of the name and its continuation lines removed from the header
// section, the first one's unfolded value kept) whatever the split of the writes; one instance Reset between
// messages gives the same result as a fresh one; GetMemory and GetSpan writes agree.
internal static class HeaderTarget
{
    private const string FieldName = "X-FastMta-Pool";

    private readonly record struct Result(string Output, bool Found, string? Value, bool ValueTooLong);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var fuzz = new FuzzInput(input);
        Result expected = Reference(fuzz.Payload);
        using var stripper = new HeaderFieldStripper(FieldName);
        bool useMemory = false;
        foreach (byte[][] writes in fuzz.Patterns())
        {
            Same(expected, Strip(stripper, writes, useMemory), useMemory ? "GetMemory writes" : "GetSpan writes");
            useMemory = !useMemory;
            Same(expected, Strip(stripper, writes, useMemory), useMemory ? "GetMemory writes" : "GetSpan writes");
        }

        using var fresh = new HeaderFieldStripper(FieldName);
        Same(expected, Strip(fresh, [fuzz.Payload.ToArray()], useMemory: false), "a fresh instance");
    }

    private static Result Strip(HeaderFieldStripper stripper, byte[][] writes, bool useMemory)
    {
        var inner = new ArrayBufferWriter<byte>();
        stripper.Reset(inner);
        foreach (byte[] write in writes)
        {
            if (write.Length == 0)
            {
                continue;
            }

            Span<byte> target = useMemory ? stripper.GetMemory(write.Length).Span : stripper.GetSpan(write.Length);
            FuzzInvariantException.Check(target.Length >= write.Length, "the writer handed out less than the size hint");
            write.CopyTo(target);
            stripper.Advance(write.Length);
        }

        stripper.Complete();
        return new Result(Convert.ToHexString(inner.WrittenSpan), stripper.Found, stripper.Value, stripper.ValueTooLong);
    }

    // Lines end at LF; the header section ends at a line that starts with CR or LF. A line starting with SP or HTAB
    // continues the field above it. A field of the name (case-insensitive, colon right after it) is dropped with its
    // continuations; the first one's text after the colon, CRs removed, is its value (trimmed, at most 76 octets).
    private static Result Reference(ReadOnlySpan<byte> data)
    {
        byte[] name = Encoding.ASCII.GetBytes(FieldName + ":");
        var output = new List<byte>(data.Length);
        var value = new List<byte>();
        bool found = false;
        bool capturing = false;
        bool lastDropped = false;
        int position = 0;
        while (position < data.Length)
        {
            ReadOnlySpan<byte> rest = data[position..];
            if (rest[0] is (byte)'\r' or (byte)'\n')
            {
                output.AddRange(rest);
                break;
            }

            int lf = rest.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = lf < 0 ? rest : rest[..(lf + 1)];
            bool drop;
            ReadOnlySpan<byte> text = line;
            if (rest[0] is (byte)' ' or (byte)'\t')
            {
                drop = lastDropped;
            }
            else
            {
                drop = line.Length >= name.Length && Ascii.EqualsIgnoreCase(line[..name.Length], name);
                capturing = drop && !found;
                found |= drop;
                text = drop ? line[name.Length..] : line;
            }

            if (!drop)
            {
                output.AddRange(line);
            }
            else if (capturing)
            {
                foreach (byte b in text)
                {
                    if (b is not (byte)'\r' and not (byte)'\n')
                    {
                        value.Add(b);
                    }
                }
            }

            lastDropped = drop;
            position += line.Length;
        }

        bool tooLong = value.Count > HeaderFieldStripper.MaxValueLength;
        string? kept = found && !tooLong ? Encoding.UTF8.GetString(value.ToArray().AsSpan().Trim(" \t"u8)) : null;
        return new Result(Convert.ToHexString(output.ToArray()), found, kept, found && tooLong);
    }

    private static void Same(Result expected, Result actual, string pattern) =>
        FuzzInvariantException.Check(expected == actual, $"{pattern}: {actual} differs from the reference {expected}");
}
