using System.Buffers;
using System.Text;

namespace FastMta.Smtp;

/// <summary>
/// A pass-through <see cref="IBufferWriter{T}"/> for a message as it is received: every field of one name (e.g.
/// <c>X-FastMta-Pool</c>, an instruction to the MTA that must not travel on) is removed from the header section, and
/// the first one's value is kept. Only the header section is inspected: after the empty line that ends it, spans come
/// straight from the inner writer, so the body costs nothing extra. Pure: no I/O; one instance serves a session's
/// messages (<see cref="Reset"/>), allocating only the value string of a message that carries the field; its copy
/// buffer for the header section is rented from the shared pool and given back by <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Lines end at LF (CRLF in practice); a field continues on lines that start with SP or HTAB (RFC 5322 2.2.3), and the
/// kept value is the unfolded, trimmed text. The name matches case-insensitively and only with the colon right after
/// it (RFC 5322 3.6.8; the obsolete "name WSP :" form is left in place).
/// </remarks>
public sealed class HeaderFieldStripper : IBufferWriter<byte>, IDisposable
{
    private const int ScratchSize = 4096;

    /// <summary>Longer values are reported as <see cref="ValueTooLong"/> instead of kept.</summary>
    public const int MaxValueLength = 76;

    private enum State { LineStart, Name, CopyLine, DropLine, Body }

    private readonly byte[] _nameWithColon;
    private readonly byte[] _held;
    private readonly byte[] _value = new byte[MaxValueLength];
    private byte[]? _scratch;
    private IBufferWriter<byte>? _inner;
    private State _state;
    private int _heldLength;
    private bool _lastFieldDropped;
    private bool _capturing;
    private int _valueLength;

    /// <param name="fieldName">The field name, ASCII, without the colon.</param>
    public HeaderFieldStripper(string fieldName)
    {
        ArgumentException.ThrowIfNullOrEmpty(fieldName);
        _nameWithColon = Encoding.ASCII.GetBytes(fieldName.ToLowerInvariant() + ":");
        _held = new byte[_nameWithColon.Length];
    }

    /// <summary>True once a field of the name was seen (and removed) in this message.</summary>
    public bool Found { get; private set; }

    /// <summary>The first field's value was longer than <see cref="MaxValueLength"/> octets.</summary>
    public bool ValueTooLong { get; private set; }

    /// <summary>The first field's unfolded value, trimmed; null when not <see cref="Found"/> or too long.</summary>
    public string? Value => Found && !ValueTooLong ? Encoding.UTF8.GetString(TrimmedValue()) : null;

    /// <summary>Starts a message whose bytes go to <paramref name="inner"/> from now on.</summary>
    public void Reset(IBufferWriter<byte> inner)
    {
        _inner = inner;
        _state = State.LineStart;
        _heldLength = 0;
        _lastFieldDropped = false;
        _capturing = false;
        _valueLength = 0;
        Found = false;
        ValueTooLong = false;
    }

    /// <summary>Ends the message: bytes held back while a line start was compared with the name are written out (a
    /// BDAT body may end in the middle of a header line).</summary>
    public void Complete()
    {
        if (_heldLength > 0)
        {
            Inner.Write(_held.AsSpan(0, _heldLength));
            _heldLength = 0;
        }

        _state = State.Body;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_state == State.Body)
        {
            return Inner.GetMemory(sizeHint);
        }

        return EnsureScratch(sizeHint);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        if (_state == State.Body)
        {
            return Inner.GetSpan(sizeHint);
        }

        return EnsureScratch(sizeHint);
    }

    public void Advance(int count)
    {
        if (_state == State.Body)
        {
            Inner.Advance(count);
            return;
        }

        Process(_scratch.AsSpan(0, count)); // GetSpan/GetMemory handed out the scratch buffer
    }

    private IBufferWriter<byte> Inner => _inner ?? throw new InvalidOperationException("Reset must be called before writing.");

    private byte[] EnsureScratch(int sizeHint)
    {
        if (_scratch is null || sizeHint > _scratch.Length)
        {
            if (_scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(_scratch);
            }

            _scratch = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, ScratchSize));
        }

        return _scratch;
    }

    /// <summary>Gives the copy buffer back to the shared pool; the instance must not be written to afterwards.</summary>
    public void Dispose()
    {
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = null;
        }
    }

    // Header-section state machine; bytes that stay are copied to the inner writer in runs.
    private void Process(ReadOnlySpan<byte> input)
    {
        IBufferWriter<byte> inner = Inner;
        while (!input.IsEmpty)
        {
            switch (_state)
            {
                case State.LineStart:
                    byte first = input[0];
                    if (first is (byte)'\r' or (byte)'\n')
                    {
                        _state = State.Body; // the empty line: the header section is over
                        inner.Write(input);
                        return;
                    }

                    if (first is (byte)' ' or (byte)'\t')
                    {
                        // A continuation line belongs to the field above it.
                        _state = _lastFieldDropped ? State.DropLine : State.CopyLine;
                        continue;
                    }

                    _capturing = false;
                    _state = State.Name;
                    continue;

                case State.Name:
                    if (AsciiLower(input[0]) == _nameWithColon[_heldLength])
                    {
                        _held[_heldLength++] = input[0];
                        input = input[1..];
                        if (_heldLength == _nameWithColon.Length)
                        {
                            _heldLength = 0;
                            _capturing = !Found;
                            Found = true;
                            _state = State.DropLine;
                        }

                        continue;
                    }

                    // Another field: give back what was held (as received) and copy the rest of the line.
                    inner.Write(_held.AsSpan(0, _heldLength));
                    _heldLength = 0;
                    _state = State.CopyLine;
                    continue;

                case State.CopyLine:
                {
                    int end = input.IndexOf((byte)'\n');
                    int take = end < 0 ? input.Length : end + 1;
                    inner.Write(input[..take]);
                    input = input[take..];
                    if (end >= 0)
                    {
                        _lastFieldDropped = false;
                        _state = State.LineStart;
                    }

                    continue;
                }

                case State.DropLine:
                {
                    int end = input.IndexOf((byte)'\n');
                    ReadOnlySpan<byte> dropped = end < 0 ? input : input[..end];
                    if (_capturing)
                    {
                        Capture(dropped);
                    }

                    input = end < 0 ? default : input[(end + 1)..];
                    if (end >= 0)
                    {
                        _lastFieldDropped = true;
                        _state = State.LineStart;
                    }

                    continue;
                }

                default:
                    inner.Write(input);
                    return;
            }
        }
    }

    private void Capture(ReadOnlySpan<byte> text)
    {
        foreach (byte b in text)
        {
            if (b == (byte)'\r')
            {
                continue; // line ends are not part of an unfolded value
            }

            if (_valueLength == _value.Length)
            {
                ValueTooLong = true;
                return;
            }

            _value[_valueLength++] = b;
        }
    }

    private ReadOnlySpan<byte> TrimmedValue() => _value.AsSpan(0, _valueLength).Trim(" \t"u8);

    private static byte AsciiLower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
}
