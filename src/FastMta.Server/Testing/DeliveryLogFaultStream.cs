using System.Diagnostics.Metrics;
using System.Text;
using FastMta.Queue;

namespace FastMta.Server.Testing;

/// <summary>
/// The test hook Mta:Testing:DeliveryLogFaultSender (never documented for operators): the delivery log's file behind a
/// stream that fails, a stand-in for a bug in the writer, on every batch holding an event of the given sender, so
/// that the tests see the writer's supervisor report it, back off and restart it. The batch's other lines are written
/// first: like a writer that fails on reading the poisoned event, the events around it still reach the file. Composed
/// by DeliveryService only when the key is set.
/// </summary>
internal sealed class DeliveryLogFaultStream(Stream inner, string sender) : Stream
{
    private readonly byte[] _marker = Encoding.UTF8.GetBytes($"\"sender\":\"{sender}\"");

    /// <summary>A delivery log over the file at <paramref name="path"/> that fails on <paramref name="sender"/>'s events.</summary>
    public static DeliveryLog Open(string path, string sender, ILogger logger, IMeterFactory meters) =>
        new(new DeliveryLogFaultStream(DeliveryLog.Open(path), sender), logger, meters);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    // The delivery log only writes asynchronously.
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Span.IndexOf(_marker) < 0)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            return;
        }

        ReadOnlyMemory<byte> rest = buffer;
        while (!rest.IsEmpty)
        {
            int end = rest.Span.IndexOf((byte)'\n');
            ReadOnlyMemory<byte> line = end < 0 ? rest : rest[..(end + 1)];
            rest = rest[line.Length..];
            if (line.Span.IndexOf(_marker) < 0)
            {
                await inner.WriteAsync(line, cancellationToken);
            }
        }

        throw new InvalidOperationException("Injected delivery log fault (test hook Mta:Testing:DeliveryLogFaultSender).");
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
