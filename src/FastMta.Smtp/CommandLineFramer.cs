using System.Buffers;

namespace FastMta.Smtp;

// Splits the inbound byte stream into SMTP command lines (RFC 5321 2.3.8: CRLF only; 4.5.3.1.4: 512 octets
// including CRLF). Memory stays bounded: an over-long line is discarded as it arrives instead of being buffered
// until its LF shows up (the unbounded ReadUntilAsync mistake). The framer does not look inside the line; NUL and
// bare CR are the command parser's business.
public struct CommandLineFramer
{
    public const int DefaultMaxLength = 512;

    private readonly int _maxLength;
    private bool _discarding;

    public CommandLineFramer(int maxLength)
    {
        // Below 3 octets not even "X\r\n" fits; the framer would reject every line.
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 3);
        _maxLength = maxLength;
        _discarding = false;
    }

    // default(CommandLineFramer) behaves like new(DefaultMaxLength), so a field needs no initializer.
    public readonly int MaxLength => _maxLength == 0 ? DefaultMaxLength : _maxLength;

    public LineStatus TryReadLine(ref SequenceReader<byte> reader, Span<byte> scratch, out ReadOnlySpan<byte> line)
    {
        line = default;
        if (_discarding)
        {
            return Discard(ref reader);
        }

        int max = MaxLength;
        ReadOnlySpan<byte> span = reader.UnreadSpan;
        int window = Math.Min(span.Length, max);
        int lf = span[..window].IndexOf((byte)'\n');
        if (lf >= 0)
        {
            // Fast path: the whole line is in the current segment, hand out a slice of it.
            reader.Advance(lf + 1);
            if (lf == 0 || span[lf - 1] != (byte)'\r')
            {
                return LineStatus.BareLineFeed;
            }
            line = span[..(lf - 1)];
            return LineStatus.Complete;
        }
        if (window == max)
        {
            return StartDiscarding(ref reader, max);
        }
        return span.Length == reader.Remaining ? LineStatus.Incomplete : ReadMultiSegment(ref reader, scratch, max, out line);
    }

    // Slow path: the line crosses segments, so it is copied once into the caller's scratch.
    private LineStatus ReadMultiSegment(ref SequenceReader<byte> reader, Span<byte> scratch, int max, out ReadOnlySpan<byte> line)
    {
        line = default;
        SequenceReader<byte> probe = reader;
        int scanned = 0;
        int lfOffset = -1;
        while (!probe.End && scanned < max)
        {
            ReadOnlySpan<byte> span = probe.UnreadSpan;
            int take = Math.Min(span.Length, max - scanned);
            int lf = span[..take].IndexOf((byte)'\n');
            if (lf >= 0)
            {
                lfOffset = scanned + lf;
                break;
            }
            scanned += take;
            probe.Advance(take);
        }

        if (lfOffset < 0)
        {
            return scanned >= max ? StartDiscarding(ref reader, max) : LineStatus.Incomplete;
        }
        if (scratch.Length < lfOffset + 1)
        {
            throw new ArgumentException("Scratch must hold MaxLength octets.", nameof(scratch));
        }
        Span<byte> copy = scratch[..(lfOffset + 1)];
        reader.TryCopyTo(copy);
        reader.Advance(lfOffset + 1);
        if (lfOffset == 0 || copy[lfOffset - 1] != (byte)'\r')
        {
            return LineStatus.BareLineFeed;
        }
        line = copy[..(lfOffset - 1)];
        return LineStatus.Complete;
    }

    // The first MaxLength octets hold no LF: the line is too long whatever follows. Drop what is here now so the
    // caller's buffer can be released, then keep dropping until the LF (RFC 5321 4.5.3.1.4 lets us reject it).
    private LineStatus StartDiscarding(ref SequenceReader<byte> reader, int max)
    {
        reader.Advance(max);
        _discarding = true;
        return Discard(ref reader);
    }

    private LineStatus Discard(ref SequenceReader<byte> reader)
    {
        while (!reader.End)
        {
            ReadOnlySpan<byte> span = reader.UnreadSpan;
            int lf = span.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                reader.Advance(lf + 1);
                _discarding = false;
                return LineStatus.TooLong;
            }
            reader.Advance(span.Length);
        }
        return LineStatus.Incomplete;
    }
}
