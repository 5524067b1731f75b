using FastMta.Tests.Shared;
using System.Net;
using FastMta.Intake;
using FastMta.Spool;
using FastMta.Testing;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Inbound.Tests;

/// <summary>What a test changes about the server; the rest is as the host configures it.</summary>
internal sealed record ServerSetup
{
    /// <summary>Whether the in-memory clients (all from 127.0.0.1) are in Mta:Relay:Networks.</summary>
    public bool ClientsMayRelay { get; init; } = true;

    public long MaxMessageBytes { get; init; } = 36_700_160;

    public long MaxLocalMessageBytes { get; init; } = new IntakeOptions { Hostname = "default" }.MaxLocalMessageBytes;

    public Func<string, bool> IsKnownPool { get; init; } = static _ => true;

    /// <summary>Policies asked before the relay rule.</summary>
    public IReadOnlyList<IRecipientPolicy> Policies { get; init; } = [];

    public IReadOnlyList<LocalDomain> LocalDomains { get; init; } = [];

    /// <summary>Whether the pipeline sees the spool as open.</summary>
    public bool SpoolOpen { get; init; } = true;
}

/// <summary>
/// The SMTP server in this process, as the host composes it: Kestrel on <see cref="InMemoryTransport"/> running
/// <see cref="SmtpConnectionHandler"/>, whose sessions take mail through an <see cref="IntakePipeline"/> into a
/// real spool in a temp directory (default durability: 250 after the group commit).
/// </summary>
internal sealed class InProcessSmtpServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly IHost _host;
    private readonly InMemoryTransport _transport;

    private InProcessSmtpServer(string directory, MessageSpool spool, IHost host, InMemoryTransport transport)
    {
        _directory = directory;
        Spool = spool;
        _host = host;
        _transport = transport;
    }

    public MessageSpool Spool { get; }

    public static async Task<InProcessSmtpServer> StartAsync(ServerSetup? setup = null)
    {
        setup ??= new ServerSetup();
        string directory = Path.Combine(Path.GetTempPath(), "fastmta-inbound-tests", Guid.NewGuid().ToString("N"));
        MessageSpool spool = await MessageSpool.OpenAsync(new SpoolOptions { Path = directory }, NullLogger.Instance, TestMeters.Create());
        var inbound = new InboundOptions
        {
            Hostname = "mta.inbound.test",
            MaxMessageBytes = setup.MaxMessageBytes,
            RelayNetworks = setup.ClientsMayRelay ? [IPNetwork.Parse("127.0.0.0/8")] : [],
        };
        var intake = new IntakePipeline(() => setup.SpoolOpen ? spool : null, new IntakeOptions
        {
            Hostname = inbound.Hostname,
            MaxMessageBytes = inbound.MaxMessageBytes,
            MaxLocalMessageBytes = setup.MaxLocalMessageBytes,
            IsKnownPool = setup.IsKnownPool,
        });
        var server = new SmtpServerContext(inbound, () => spool, NullLoggerFactory.Instance, TimeProvider.System, TestMeters.Create())
        {
            Intake = intake,
            RecipientPolicy = RelayRecipientPolicy.Chain(new LocalDomains(setup.LocalDomains), setup.Policies),
        };
        var transport = new InMemoryTransport();
        IHost host = new HostBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureWebHost(web => web
                .UseKestrelCore() // no socket transport: the in-memory one is the only listener factory
                .ConfigureServices(services =>
                {
                    services.AddSingleton<IConnectionListenerFactory>(sp =>
                        transport.UseMemoryPool(sp.GetRequiredService<IMemoryPoolFactory<byte>>()));
                    services.AddSingleton(server);
                })
                .ConfigureKestrel(kestrel => kestrel.Listen(new IPEndPoint(IPAddress.Loopback, 25),
                    listen => listen.UseConnectionHandler<SmtpConnectionHandler>()))
                .Configure(_ => { }))
            .Build();
        await host.StartAsync();
        return new InProcessSmtpServer(directory, spool, host, transport);
    }

    /// <summary>A new session; the banner is read.</summary>
    public async Task<SmtpTestClient> ConnectAsync()
    {
        var client = new SmtpTestClient(_transport.Connect());
        Assert.StartsWith("220 ", await client.ReadReplyAsync());
        return client;
    }

    /// <summary>Every message committed to the spool so far.</summary>
    public async Task<List<SpooledMessage>> SpooledAsync()
    {
        var messages = new List<SpooledMessage>();
        await foreach (SpooledMessage message in Spool.ReadMessagesAsync())
        {
            messages.Add(message);
        }
        return messages;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await Spool.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
