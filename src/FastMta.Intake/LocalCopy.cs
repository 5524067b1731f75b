using System.Buffers;

namespace FastMta.Intake;

/// <summary>
/// The content of a message with local recipients, kept in memory for the <see cref="ILocalMailbox"/> while it also
/// goes on to the spool writer when there are remote recipients (a tee), or alone when there are none. Used only for
/// messages to local domains (DSNs and reports, small): the buffer is rented when such a message starts and given back
/// when it ends, and it never grows past its limit; bytes beyond it are counted, not kept (<see cref="Overflowed"/>).
/// </summary>
internal sealed class LocalCopy : IBufferWriter<byte>, IDisposable
{
    private const int DiscardSize = 4096;

    private byte[] _buffer = [];
    private byte[]? _discard; // where bytes past the limit go when there is no spool writer behind
    private int _length;
    private long _limit;
    private long _overflow;
    private IBufferWriter<byte>? _next;
    private Memory<byte> _handedOut;

    /// <summary>Bytes written, kept or not.</summary>
    public long Length => _length + _overflow;

    /// <summary>More than the limit was written: <see cref="Content"/> is incomplete and must not be delivered.</summary>
    public bool Overflowed => _overflow > 0;

    public ReadOnlyMemory<byte> Content => _buffer.AsMemory(0, _length);

    /// <summary>Starts a message of at most <paramref name="limit"/> bytes; its bytes also go on to
    /// <paramref name="next"/> when there is one.</summary>
    public void Reset(IBufferWriter<byte>? next, long limit)
    {
        Clear();
        _next = next;
        _limit = limit;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_next is not null)
        {
            _handedOut = _next.GetMemory(sizeHint);
            return _handedOut;
        }
        int size = Math.Max(sizeHint, 1);
        if (Overflowed)
        {
            if (_discard is null || _discard.Length < size)
            {
                _discard = new byte[Math.Max(size, DiscardSize)]; // kept for the transaction: not one per write
            }
            return _discard;
        }
        Grow(size); // may go past the limit by one request: Advance decides what is kept
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public void Advance(int count)
    {
        bool keep = !Overflowed && _length + (long)count <= _limit;
        if (_next is not null)
        {
            if (keep)
            {
                Grow(count);
                _handedOut.Span[..count].CopyTo(_buffer.AsSpan(_length));
            }
            _next.Advance(count);
            _handedOut = default;
        }
        else if (!Overflowed && count > _buffer.Length - _length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "Advanced past the end of the buffer.");
        }
        if (keep)
        {
            _length += count;
        }
        else
        {
            _overflow += count;
        }
    }

    /// <summary>Forgets the message and gives the buffer back.</summary>
    public void Clear()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
        _length = 0;
        _overflow = 0;
        _next = null;
        _handedOut = default;
    }

    public void Dispose() => Clear();

    private void Grow(int needed)
    {
        if (_buffer.Length - _length >= needed)
        {
            return;
        }
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + needed, Math.Max(4096, _buffer.Length * 2)));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
        _buffer = larger;
    }
}
