namespace FastMta.Queue.Tests.Events;

/// <summary>A write-only in-memory stream whose writes wait for a gate (a disk that stalls) or fail on demand (a full
/// disk), recording everything that was written successfully.</summary>
internal sealed class ControlledStream : Stream
{
    private readonly MemoryStream _data = new();
    private readonly TaskCompletionSource _firstWriteStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ControlledStream(bool open = true)
    {
        if (open)
        {
            _gate.TrySetResult();
        }
    }

    /// <summary>The next this-many writes throw IOException("No space left on device") after writing half their bytes.</summary>
    public int FailNextWrites { get; set; }

    public Task FirstWriteStarted => _firstWriteStarted.Task;

    public void Open() => _gate.TrySetResult();

    public byte[] Written
    {
        get
        {
            lock (_data)
            {
                return _data.ToArray();
            }
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _firstWriteStarted.TrySetResult();
        await _gate.Task.ConfigureAwait(false);
        lock (_data)
        {
            if (FailNextWrites > 0)
            {
                FailNextWrites--;
                _data.Write(buffer.Span[..(buffer.Length / 2)]);
                throw new IOException("No space left on device");
            }

            _data.Write(buffer.Span);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
