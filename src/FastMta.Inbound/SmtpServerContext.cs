using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using FastMta.Intake;
using FastMta.Smtp;
using FastMta.Spool;
using Microsoft.Extensions.Logging;

namespace FastMta.Inbound;

// What every SMTP session shares: options, the spool, the intake pipeline and the recipient policy, the AUTH verifier
// and replies pre-encoded once at start-up (banner, HELO and the four EHLO variants), so no session formats them again.
public sealed class SmtpServerContext
{
    private readonly Func<MessageSpool> _spool;
    private readonly byte[][] _ehloReplies = new byte[4][];
    private int _activeConnections;
    // Open sessions per client address (Mta:Limits:MaxConnectionsPerClient); an address leaves when its count is 0, so
    // the map holds at most MaxConnections entries. Touched once at connect and once at close, never per command.
    private readonly Dictionary<IPAddress, int> _perClient = [];
    private readonly Lock _perClientLock = new();

    public SmtpServerContext(InboundOptions options, Func<MessageSpool> spool, ILoggerFactory loggerFactory, TimeProvider time,
        IMeterFactory meters)
    {
        Options = options;
        _spool = spool;
        Logger = loggerFactory.CreateLogger("FastMta.Inbound.SmtpSession");
        Time = time;
        Metrics = new InboundMetrics(meters);
        AuthVerifier = new AuthVerifier(options, Logger, Metrics, time);
        Banner = Encoding.ASCII.GetBytes($"220 {options.Hostname} ESMTP\r\n");
        HeloReply = Encoding.ASCII.GetBytes($"250 {options.Hostname}\r\n");
        HostnameUtf8 = Encoding.ASCII.GetBytes(options.Hostname);
        // The host passes its own pipeline (shared with the HTTP API); this one serves a context built without one.
        Intake = new IntakePipeline(spool, new IntakeOptions
        {
            Hostname = options.Hostname,
            MaxMessageBytes = options.MaxMessageBytes,
            IsKnownPool = name => IsKnownPool(name),
        });
        for (int i = 0; i < _ehloReplies.Length; i++)
        {
            _ehloReplies[i] = BuildEhlo(offerTls: (i & 1) != 0, offerAuth: (i & 2) != 0);
        }
    }

    /// <summary>The header field in which a submitter names the egress pool for its message; removed at reception.</summary>
    public const string PoolHeaderName = IntakePipeline.PoolHeaderName;

    public InboundOptions Options { get; }
    public MessageSpool Spool => _spool();
    public ILogger Logger { get; }
    public TimeProvider Time { get; }
    internal AuthVerifier AuthVerifier { get; }
    public InboundMetrics Metrics { get; }
    public byte[] Banner { get; }
    public byte[] HeloReply { get; }
    public byte[] HostnameUtf8 { get; }
    public bool AuthConfigured => Options.AuthUsers.Count > 0;

    /// <summary>Whether an egress pool named by a message's X-FastMta-Pool header exists (set by the host from the
    /// live traffic-shaping configuration); every name is accepted when no check is set.</summary>
    public Func<string, bool> IsKnownPool { get; init; } = static _ => true;

    /// <summary>Where the sessions' messages go: envelope, Received header, content processors, spool, commit.</summary>
    public IntakePipeline Intake { get; init; }

    /// <summary>Asked at every RCPT; by default the relay rule alone (<see cref="RelayRecipientPolicy.Chain"/> adds
    /// local domains and other policies before it).</summary>
    public IRecipientPolicy RecipientPolicy { get; init; } = RelayRecipientPolicy.Instance;

    public ReadOnlySpan<byte> EhloReply(bool offerTls, bool offerAuth) =>
        _ehloReplies[(offerTls ? 1 : 0) | (offerAuth ? 2 : 0)];

    /// <summary>Admits a connection under Mta:Limits:MaxConnections and, for its client address, MaxConnectionsPerClient.
    /// When admitted, <paramref name="countedAs"/> is the address it was counted under (null: not counted per client),
    /// to be given back to <see cref="LeaveConnection"/>; when refused, <paramref name="open"/> is the count that
    /// refused it.</summary>
    public ConnectionAdmission TryEnterConnection(IPAddress? client, out IPAddress? countedAs, out int open)
    {
        countedAs = null;
        open = Interlocked.Increment(ref _activeConnections);
        if (open > Options.MaxConnections)
        {
            Interlocked.Decrement(ref _activeConnections);
            open--;
            return ConnectionAdmission.TooManyConnections;
        }
        if (client is null)
        {
            return ConnectionAdmission.Admitted;
        }
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4(); // one host, one count, whichever socket family it came in on
        }
        if (Options.ExemptRelayNetworks && IsInRelayNetworks(client))
        {
            return ConnectionAdmission.Admitted;
        }
        lock (_perClientLock)
        {
            _perClient.TryGetValue(client, out open);
            if (open >= Options.MaxConnectionsPerClient)
            {
                Interlocked.Decrement(ref _activeConnections);
                return ConnectionAdmission.TooManyFromClient;
            }
            _perClient[client] = open + 1;
        }
        countedAs = client;
        return ConnectionAdmission.Admitted;
    }

    public void LeaveConnection(IPAddress? countedAs)
    {
        if (countedAs is not null)
        {
            lock (_perClientLock)
            {
                if (_perClient.TryGetValue(countedAs, out int open) && open > 1)
                {
                    _perClient[countedAs] = open - 1;
                }
                else
                {
                    _perClient.Remove(countedAs);
                }
            }
        }
        Interlocked.Decrement(ref _activeConnections);
    }

    // Mta:Relay:Networks: who may relay without AUTH, and who ExemptRelayNetworks frees from the per-client limit.
    internal bool IsInRelayNetworks(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        foreach (IPNetwork network in Options.RelayNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }
        return false;
    }

    public int ActiveConnections => Volatile.Read(ref _activeConnections);

    // RFC 5321 4.1.1.1 EHLO reply; extensions: RFC 2920 PIPELINING, RFC 1870 SIZE, RFC 6152 8BITMIME,
    // RFC 6531 SMTPUTF8, RFC 2034 ENHANCEDSTATUSCODES, RFC 3030 CHUNKING, RFC 3207 STARTTLS, RFC 4954 AUTH.
    private byte[] BuildEhlo(bool offerTls, bool offerAuth)
    {
        var lines = new List<string>
        {
            Options.Hostname, "PIPELINING", $"SIZE {Options.MaxMessageBytes}", "8BITMIME", "SMTPUTF8",
            "ENHANCEDSTATUSCODES", "CHUNKING",
        };
        if (offerTls)
        {
            lines.Add("STARTTLS");
        }
        if (offerAuth)
        {
            lines.Add("AUTH PLAIN LOGIN");
        }
        var buffer = new ArrayBufferWriter<byte>();
        for (int i = 0; i < lines.Count; i++)
        {
            ReplyWriter.WriteLine(buffer, 250, last: i == lines.Count - 1, Encoding.ASCII.GetBytes(lines[i]));
        }
        return buffer.WrittenSpan.ToArray();
    }
}

public enum ConnectionAdmission { Admitted, TooManyConnections, TooManyFromClient }
