using System.Buffers;
using FastMta.Intake;

namespace FastMta.Server.Api;

/// <summary>A write-only Stream over an <see cref="IntakeTransaction"/>'s content chain, so MimeKit writes a built
/// message straight into the spool's chunk buffers (no intermediate array or string). Past <c>limit</c> bytes it stops
/// storing and only counts, and <see cref="TooLarge"/> tells the caller to abandon the message; when the spool refuses
/// to store a chunk it stops storing too, and <see cref="Refused"/> says why.</summary>
internal sealed class SpoolStream(IntakeTransaction transaction, long limit) : Stream
{
    public long Written { get; private set; }

    public bool TooLarge => Written > limit;

    /// <summary>The spool's refusal of a chunk, if one was refused.</summary>
    public IntakeResult? Refused { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;

    public override long Position
    {
        get => Written;
        set => throw new NotSupportedException();
    }

    private bool Storing => !TooLarge && Refused is null;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Written += buffer.Length;
        if (Storing)
        {
            transaction.Content.Write(buffer);
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        if (Storing)
        {
            IntakeResult flushed = await transaction.FlushAsync(cancellationToken); // full chunks go to the log as they fill
            if (!flushed.IsAccepted)
            {
                Refused = flushed;
            }
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
