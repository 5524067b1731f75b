using System.Buffers;
using FastMta.Spool;

namespace FastMta.Server.Api;

/// <summary>A write-only Stream over a spool <see cref="MessageWriter"/>, so MimeKit writes a built message straight
/// into the spool's chunk buffers (no intermediate array or string). Past <c>limit</c> bytes it stops storing and
/// only counts, and <see cref="TooLarge"/> tells the caller to abandon the message.</summary>
internal sealed class SpoolStream(MessageWriter writer, long limit) : Stream
{
    public long Written { get; private set; }

    public bool TooLarge => Written > limit;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;

    public override long Position
    {
        get => Written;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Written += buffer.Length;
        if (!TooLarge)
        {
            writer.Write(buffer);
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        if (!TooLarge)
        {
            await writer.FlushAsync(cancellationToken); // full chunks go to the log as they fill
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
