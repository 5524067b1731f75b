using System.Buffers;

namespace FastMta.Smtp;

// The DATA body decoder (RFC 5321 4.1.1.4, 4.5.2): finds CRLF "." CRLF, removes dot-stuffing and enforces the size
// limit while streaming, so the body never has to be buffered whole. Only CRLF ends a line: a bare LF or a bare CR
// (a CR not followed by LF) is content, flagged in SawBareLineFeed / SawBareCarriageReturn, so "\n.\n", "\r\n.\n",
// "\r.\r\n" and the like never terminate the message (SMTP smuggling, CVE-2023-51764); the session refuses a
// message with either flag, so no such end-of-data look-alike is ever relayed. A CRLF split across two segments is
// a CRLF. Resumable: all state is in fields, every byte looked at is consumed, so the caller simply advances to
// reader.Position and feeds the next bytes. It does not check line lengths or 8-bit content.
public struct DataDecoder
{
    private enum State : byte
    {
        LineStart,  // at the first byte of a line
        Text,       // inside a line
        Cr,         // inside a line, the last byte was CR (it may be the CR of CRLF)
        Dot,        // a '.' at line start was consumed and not written
        DotCr,      // "." CR at line start: LF completes the terminator
        Done,
    }

    private long _maxMessageBytes;
    private long _bodyBytes;
    private State _state;
    private bool _tooLarge;
    private bool _sawBareLineFeed;
    private bool _sawBareCarriageReturn;

    // default(DataDecoder) has a limit of 0 octets: call Reset with the real limit before each message.
    public DataDecoder(long maxMessageBytes)
    {
        this = default;
        Reset(maxMessageBytes);
    }

    public void Reset(long maxMessageBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessageBytes);
        _maxMessageBytes = maxMessageBytes;
        _bodyBytes = 0;
        _state = State.LineStart;
        _tooLarge = false;
        _sawBareLineFeed = false;
        _sawBareCarriageReturn = false;
    }

    public readonly long BodyBytes => _bodyBytes;

    public readonly bool TooLarge => _tooLarge;

    public readonly bool SawBareLineFeed => _sawBareLineFeed;

    public readonly bool SawBareCarriageReturn => _sawBareCarriageReturn;

    public DataStatus Decode(ref SequenceReader<byte> input, IBufferWriter<byte> output)
    {
        while (_state != State.Done)
        {
            if (!input.TryPeek(out byte next))
            {
                return DataStatus.NeedMoreData;
            }
            switch (_state)
            {
                case State.LineStart:
                    if (next == (byte)'.')
                    {
                        input.Advance(1);
                        _state = State.Dot;
                    }
                    else
                    {
                        _state = State.Text;
                    }
                    break;
                case State.Dot:
                    if (next == (byte)'\r')
                    {
                        input.Advance(1);
                        _state = State.DotCr;
                    }
                    else
                    {
                        _state = State.Text; // 4.5.2: a leading dot with more on the line is dropped
                    }
                    break;
                case State.DotCr:
                    if (next == (byte)'\n')
                    {
                        input.Advance(1);
                        _state = State.Done;
                        return DataStatus.Complete;
                    }
                    // ".\rX": the dot was stuffing, the CR is a bare CR; X is read as text (a CR there starts CRLF).
                    _sawBareCarriageReturn = true;
                    Emit("\r"u8, output);
                    _state = State.Text;
                    break;
                default:
                    ScanText(ref input, output);
                    break;
            }
        }
        return DataStatus.Complete;
    }

    // Copies text in runs: only a '.' right after CRLF interrupts a run, everything else (bare CR, bare LF, any
    // octet) is content verbatim. Consumes the current segment up to and including such a CRLF, or all of it. Lines
    // are found by LF alone (one vectorized search per line, as fast as before bare CRs were looked for); a bare LF
    // is one without CR before it, and a bare CR is found by counting: a run's CRs are its CRLFs' plus a CR ending
    // the segment (decided by the next byte), so any more is bare. CRLF split between segments is a CRLF.
    private void ScanText(ref SequenceReader<byte> input, IBufferWriter<byte> output)
    {
        ReadOnlySpan<byte> span = input.UnreadSpan;
        int position = 0;
        int crlfs = 0; // CRLFs in this run whose CR is in the run
        if (_state == State.Cr)
        {
            // The CR that ended the previous segment (already written) is half of a CRLF, or bare.
            if (span[0] == (byte)'\n')
            {
                position = 1;
                if (span.Length == 1 || span[1] == (byte)'.')
                {
                    Emit(span[..1], output);
                    input.Advance(1);
                    _state = State.LineStart;
                    return;
                }
            }
            else
            {
                _sawBareCarriageReturn = true;
            }
        }
        while (true)
        {
            int lf = span[position..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                bool crAtEnd = span[^1] == (byte)'\r';
                CountCarriageReturns(span, crlfs + (crAtEnd ? 1 : 0));
                Emit(span, output);
                input.Advance(span.Length);
                _state = crAtEnd ? State.Cr : State.Text;
                return;
            }
            lf += position;
            position = lf + 1;
            if (lf == 0 || span[lf - 1] != (byte)'\r')
            {
                _sawBareLineFeed = true; // (an LF at 0 after a CR ending the last segment was skipped above)
                continue;
            }
            crlfs++;
            if (position == span.Length || span[position] == (byte)'.')
            {
                CountCarriageReturns(span[..position], crlfs);
                Emit(span[..position], output);
                input.Advance(position);
                _state = State.LineStart;
                return;
            }
        }
    }

    private void CountCarriageReturns(ReadOnlySpan<byte> run, int expected)
    {
        if (!_sawBareCarriageReturn && run.Count((byte)'\r') != expected)
        {
            _sawBareCarriageReturn = true;
        }
    }

    // Counts every content byte, but writes only while the total stays within the limit; past it the rest of the
    // message is still scanned for the terminator (RFC 5321 4.5.3.1.10 reply comes after the data) and dropped.
    private void Emit(ReadOnlySpan<byte> content, IBufferWriter<byte> output)
    {
        long room = _maxMessageBytes - _bodyBytes;
        _bodyBytes += content.Length;
        if (_tooLarge)
        {
            return;
        }
        if (content.Length > room)
        {
            _tooLarge = true;
            content = content[..(int)room];
        }
        if (!content.IsEmpty)
        {
            output.Write(content);
        }
    }
}
