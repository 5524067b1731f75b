using System.Buffers;

namespace FastMta.Spool;

/// <summary>
/// A message body read piece by piece, so that whoever sends it holds one piece at a time whatever the message's size
/// (a spooled body: one log entry, see <see cref="MessageSpool.OpenBodyAsync"/>). One pass at a time, from the first
/// byte; <see cref="Rewind"/> starts the next one (a second MX host of the same attempt gets the whole body again).
/// Not thread-safe. Dispose gives the buffers back.
/// </summary>
public abstract class MessageBody : IDisposable
{
    /// <summary>An empty body (nothing to read); one shared instance, which reading and disposing leave unchanged.</summary>
    public static MessageBody Empty { get; } = new SequenceBody(ReadOnlySequence<byte>.Empty);

    /// <summary>The body's length in bytes, known before it is read (SIZE, BDAT chunk sizes).</summary>
    public abstract long Length { get; }

    /// <summary>A body already in memory (tests, tools).</summary>
    public static MessageBody FromSequence(ReadOnlySequence<byte> body) => new SequenceBody(body);

    /// <summary>
    /// The next piece of the body, never empty until the end, where it is empty. Valid until the next call,
    /// <see cref="Rewind"/> or <see cref="Dispose()"/>. A body that cannot be read (a corrupt spool) throws
    /// <see cref="SpoolCorruptException"/>; the caller must then not end the data as if the message were complete.
    /// </summary>
    public abstract ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Back to the first byte.</summary>
    public abstract void Rewind();

    /// <summary>
    /// Up to <paramref name="limit"/> bytes from the start of the body, copied (a DSN's header section); then rewound.
    /// Reads no more than the pieces that cover them.
    /// </summary>
    public async ValueTask<byte[]> ReadPrefixAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        Rewind();
        byte[] prefix = new byte[(int)Math.Min(limit, Length)];
        int filled = 0;
        while (filled < prefix.Length)
        {
            ReadOnlyMemory<byte> piece = await ReadAsync(cancellationToken).ConfigureAwait(false);
            if (piece.IsEmpty)
            {
                break;
            }

            int n = Math.Min(piece.Length, prefix.Length - filled);
            piece.Span[..n].CopyTo(prefix.AsSpan(filled));
            filled += n;
        }

        Rewind();
        return filled == prefix.Length ? prefix : prefix[..filled];
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }

    private sealed class SequenceBody(ReadOnlySequence<byte> body) : MessageBody
    {
        private SequencePosition _position = body.Start;

        public override long Length => body.Length;

        public override ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken)
        {
            while (body.TryGet(ref _position, out ReadOnlyMemory<byte> segment))
            {
                if (!segment.IsEmpty)
                {
                    return ValueTask.FromResult(segment);
                }
            }

            return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
        }

        public override void Rewind() => _position = body.Start;
    }
}
