using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using FastMta.Inbound;
using FastMta.Spool;
using FastMta.Testing;
using FastMta.Tests.Shared;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Benchmarks.EndToEnd;

/// <summary>
/// The SMTP server in one process without sockets: Kestrel (on <see cref="InMemoryTransport"/>) runs the real
/// SmtpConnectionHandler, whose sessions spool into a real FASTER spool in a temp directory with the default
/// durability (250 only after the group commit). One operation is one message accepted with 250; the client is in the
/// same process, so its (small) cost is included. Allocated = bytes allocated by the whole process per message (server,
/// client, Kestrel, FASTER's committer). Modes: MessagesPerSession = 1 is EHLO, MAIL, RCPT, DATA, QUIT per connection;
/// 32 sends 32 messages on one connection, MAIL/RCPT/DATA pipelined (RFC 2920), then the body after 354.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(MessagesPerSecondConfig))]
public class EndToEndBenchmarks
{
    // Every case moves the same number of messages per invocation, so per-message figures compare across modes.
    private const int MessagesPerInvocation = 512;

    private static readonly byte[] Ehlo = "EHLO client.bench.example\r\n"u8.ToArray();
    private static readonly byte[] Envelope =
        "MAIL FROM:<sender@client.bench.example> BODY=8BITMIME\r\nRCPT TO:<rcpt@dest.bench.example>\r\nDATA\r\n"u8.ToArray();
    private static readonly byte[] Quit = "QUIT\r\n"u8.ToArray();

    private string _directory = string.Empty;
    private MessageSpool _spool = null!;
    private IHost _host = null!;
    private InMemoryTransport _transport = null!;
    private byte[] _body = [];

    [Params(1024, 10 * 1024)]
    public int BodySize { get; set; }

    [Params(1, 16)]
    public int Sessions { get; set; }

    [Params(1, 32)]
    public int MessagesPerSession { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "fastmta-e2e-bench", Guid.NewGuid().ToString("N"));
        var spoolOptions = new SpoolOptions { Path = _directory };
        _spool = await MessageSpool.OpenAsync(spoolOptions, NullLogger.Instance, TestMeters.Create());
        await FillLogMemoryAsync(_spool, 1L << spoolOptions.MemorySizeBits);
        _body = CreateBody(BodySize);
        _transport = new InMemoryTransport();
        var inbound = new InboundOptions
        {
            Hostname = "mta.bench.example",
            RelayNetworks = [IPNetwork.Parse("127.0.0.0/8")],
        };
        var server = new SmtpServerContext(inbound, () => _spool, NullLoggerFactory.Instance, TimeProvider.System, TestMeters.Create());

        // UseKestrelCore registers no socket transport: the in-memory one is the only IConnectionListenerFactory.
        _host = new HostBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureWebHost(web => web
                .UseKestrelCore()
                .ConfigureServices(services =>
                {
                    services.AddSingleton<IConnectionListenerFactory>(sp =>
                        _transport.UseMemoryPool(sp.GetRequiredService<IMemoryPoolFactory<byte>>()));
                    services.AddSingleton(server);
                })
                .ConfigureKestrel(kestrel => kestrel.Listen(new IPEndPoint(IPAddress.Loopback, 25),
                    listen => listen.UseConnectionHandler<SmtpConnectionHandler>()))
                .Configure(_ => { }))
            .Build();
        await _host.StartAsync();

        // Fail fast (not with a hanging benchmark) if the server does not accept a message.
        await RunSessionAsync(1);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _spool.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = MessagesPerInvocation)]
    public Task AcceptMessages()
    {
        int connectionsPerWorker = MessagesPerInvocation / (Sessions * MessagesPerSession);
        if (Sessions == 1)
        {
            return WorkerAsync(connectionsPerWorker);
        }
        var workers = new Task[Sessions];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkerAsync(connectionsPerWorker));
        }
        return Task.WhenAll(workers);
    }

    private async Task WorkerAsync(int connections)
    {
        for (int i = 0; i < connections; i++)
        {
            await RunSessionAsync(MessagesPerSession);
        }
    }

    private async Task RunSessionAsync(int messages)
    {
        IDuplexPipe client = _transport.Connect();
        await ExpectRepliesAsync(client.Input, 1); // 220 banner
        await client.Output.WriteAsync(Ehlo);
        await ExpectRepliesAsync(client.Input, 1);
        for (int i = 0; i < messages; i++)
        {
            await client.Output.WriteAsync(Envelope);
            await ExpectRepliesAsync(client.Input, 3); // 250 250 354
            await client.Output.WriteAsync(_body);
            await ExpectRepliesAsync(client.Input, 1); // 250 queued as
        }
        await client.Output.WriteAsync(Quit);
        await ExpectRepliesAsync(client.Input, 1);
        await client.Output.CompleteAsync();
        // Wait for the server to close its end, as a client waits for the socket to close after 221.
        while (true)
        {
            ReadResult result = await client.Input.ReadAsync();
            client.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        await client.Input.CompleteAsync();
    }

    // Reads until `count` complete replies (a line whose fourth byte is a space ends a reply) and fails on 4xx/5xx.
    // Pooled builder: the client's own state machines would otherwise add a few hundred bytes to every message.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask ExpectRepliesAsync(PipeReader input, int count)
    {
        int column = 0;
        byte code = 0;
        while (count > 0)
        {
            ReadResult result = await input.ReadAsync();
            ReadOnlySequence<byte> buffer = result.Buffer;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                foreach (byte b in segment.Span)
                {
                    if (column == 0)
                    {
                        code = b;
                    }
                    else if (column == 3 && b == (byte)' ')
                    {
                        if (code is not ((byte)'2' or (byte)'3'))
                        {
                            throw new InvalidOperationException("The server refused: " + Encoding.ASCII.GetString(buffer.ToArray()));
                        }
                        count--;
                    }
                    column = b == (byte)'\n' ? 0 : column + 1;
                }
            }
            input.AdvanceTo(buffer.End);
            if (result.IsCompleted && count > 0)
            {
                throw new InvalidOperationException("The server closed the connection early.");
            }
        }
    }

    // FasterLog allocates each page of its in-memory ring the first time the tail reaches it, so until the log has
    // grown past MemorySize every message would carry about its own size in page allocations. Writing that much first
    // makes Allocated the steady-state figure.
    private static async Task FillLogMemoryAsync(MessageSpool spool, long bytes)
    {
        const int BodyBytes = 1 << 20;
        using MessageWriter writer = spool.CreateWriter();
        for (long written = 0; written < bytes + BodyBytes; written += BodyBytes)
        {
            writer.Reset();
            writer.SetSender("fill@bench.example"u8, default);
            writer.AddRecipient("fill@bench.example"u8, default);
            writer.SetOrigin("127.0.0.1", "fill.bench.example", null, "ESMTP");
            for (int i = 0; i < BodyBytes; i += 64 * 1024)
            {
                writer.GetSpan(64 * 1024)[..(64 * 1024)].Fill((byte)'x');
                writer.Advance(64 * 1024);
                await writer.FlushAsync(CancellationToken.None);
            }
            await writer.CommitAsync(CancellationToken.None);
        }
    }

    // Headers, then 76-character lines up to the size, then the end-of-data line.
    private static byte[] CreateBody(int size)
    {
        var body = new ArrayBufferWriter<byte>(size + 128);
        body.Write("From: <sender@client.bench.example>\r\nTo: <rcpt@dest.bench.example>\r\nSubject: bench\r\n\r\n"u8);
        byte[] line = Encoding.ASCII.GetBytes(new string('x', 76) + "\r\n");
        while (body.WrittenCount + line.Length <= size)
        {
            body.Write(line);
        }
        body.Write(".\r\n"u8);
        return body.WrittenSpan.ToArray();
    }

    private sealed class MessagesPerSecondConfig : ManualConfig
    {
        public MessagesPerSecondConfig() => AddColumn(new MessagesPerSecondColumn());
    }
}
