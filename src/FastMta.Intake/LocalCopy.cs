using System.Buffers;

namespace FastMta.Intake;

/// <summary>
/// The content of a message with local recipients, kept in memory for the <see cref="ILocalMailbox"/> while it also
/// goes on to the spool writer when there are remote recipients (a tee), or alone when there are none. Bounded by the
/// pipeline's size limit; used only for messages to local domains (DSNs and reports, small), so the buffer is rented
/// when such a message starts and given back when it ends.
/// </summary>
internal sealed class LocalCopy : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer = [];
    private int _length;
    private IBufferWriter<byte>? _next;
    private Memory<byte> _handedOut;

    public long Length => _length;

    public ReadOnlyMemory<byte> Content => _buffer.AsMemory(0, _length);

    /// <summary>Starts a message; its bytes also go on to <paramref name="next"/> when there is one.</summary>
    public void Reset(IBufferWriter<byte>? next)
    {
        Clear();
        _next = next;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_next is not null)
        {
            _handedOut = _next.GetMemory(sizeHint);
            return _handedOut;
        }
        Grow(Math.Max(sizeHint, 1));
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public void Advance(int count)
    {
        if (_next is not null)
        {
            Grow(count);
            _handedOut.Span[..count].CopyTo(_buffer.AsSpan(_length));
            _next.Advance(count);
            _handedOut = default;
        }
        else if (count > _buffer.Length - _length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "Advanced past the end of the buffer.");
        }
        _length += count;
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
