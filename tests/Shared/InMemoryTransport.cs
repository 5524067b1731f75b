using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace FastMta.Testing;

// A Kestrel transport without sockets: Kestrel binds it like the socket transport (IConnectionListenerFactory) and
// accepts connections that the caller (a benchmark, an in-process test) creates with Connect(). One copy, linked into
// bench/FastMta.Benchmarks and tests/FastMta.Inbound.Tests. Kestrel's own in-memory transport lives in its test
// code, so this is a small one on System.IO.Pipelines. Going through Kestrel (not calling the ConnectionHandler by
// hand) keeps what the server really runs per connection: Kestrel's accept loop, its connection wrapper and features,
// the middleware delegate and the dispatch to the thread pool.
internal sealed class InMemoryTransport : IConnectionListenerFactory, IConnectionListener
{
    private readonly Channel<InMemoryConnection> _accept = Channel.CreateUnbounded<InMemoryConnection>(
        new UnboundedChannelOptions { SingleReader = true });
    private long _nextId;
    private PipeOptions _pipeOptions = PipeOptions.Default;

    public EndPoint EndPoint { get; private set; } = new IPEndPoint(IPAddress.Loopback, 25);

    // The client's ends of the two pipes; the server's ends are accepted by Kestrel.
    public IDuplexPipe Connect()
    {
        var connection = new InMemoryConnection(Interlocked.Increment(ref _nextId), EndPoint, _pipeOptions);
        if (!_accept.Writer.TryWrite(connection))
        {
            throw new InvalidOperationException("The transport is not listening.");
        }
        return connection.Client;
    }

    // Pipes on Kestrel's memory pool (pinned 4 KiB blocks, as the socket transport uses), so the buffers cost what they
    // cost in the server; the shared ArrayPool-backed default would add transport allocations that production has not.
    public InMemoryTransport UseMemoryPool(IMemoryPoolFactory<byte> factory)
    {
        MemoryPool<byte> pool = factory.Create();
        _pipeOptions = new PipeOptions(pool, PipeScheduler.ThreadPool, PipeScheduler.ThreadPool,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, minimumSegmentSize: 4096,
            useSynchronizationContext: false);
        return this;
    }

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        EndPoint = endpoint;
        return ValueTask.FromResult<IConnectionListener>(this);
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        // Null tells Kestrel the listener is closed (after UnbindAsync).
        while (await _accept.Reader.WaitToReadAsync(cancellationToken))
        {
            if (_accept.Reader.TryRead(out InMemoryConnection? connection))
            {
                return connection;
            }
        }
        return null;
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _accept.Writer.TryComplete();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}

// One connection as two pipes, with the socket transport's pool and thread-pool scheduling; the difference is that no
// system call is made, so the figures are the server's own CPU cost.
internal sealed class InMemoryConnection : ConnectionContext
{
    private readonly CancellationTokenSource _closed = new();
    private readonly IDuplexPipe _server;

    public InMemoryConnection(long id, EndPoint local, PipeOptions options)
    {
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        _server = new DuplexPipe(toServer.Reader, toClient.Writer);
        Client = new DuplexPipe(toClient.Reader, toServer.Writer);
        ConnectionId = "mem-" + id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        LocalEndPoint = local;
        // Loopback, so the session's relay check (Mta:Smtp:RelayNetworks) lets the benchmark relay.
        RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, 40000 + (int)(id % 20000));
        Transport = _server;
    }

    public IDuplexPipe Client { get; }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed
    {
        get => _closed.Token;
        set => throw new NotSupportedException();
    }

    // As a reset socket: the server's next read ends with the error. (A cancelled read would not do: the session takes
    // that for its own timeout or shutdown signal.) Kestrel aborts only at host stop, when the benchmark's clients are done.
    public override void Abort(ConnectionAbortedException abortReason)
    {
        Client.Output.Complete(abortReason);
        _closed.Cancel();
    }

    // Kestrel disposes the connection when the handler returns: completing the server's ends is the socket close the
    // client sees.
    public override async ValueTask DisposeAsync()
    {
        await _server.Input.CompleteAsync();
        await _server.Output.CompleteAsync();
        // _closed is not disposed: Kestrel may still call Abort during shutdown, and it holds no timer.
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
