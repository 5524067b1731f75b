using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using FastMta.Queue;
using FastMta.Smtp;
using Microsoft.Extensions.Logging;

namespace FastMta.Outbound;

// One client connection to one receiver address (RFC 5321): connect (bound to the egress address), greeting, EHLO
// (HELO on 5xx), STARTTLS per the mode, then any number of transactions (OutboundConnection.Transaction.cs). It is
// used by one caller at a time (the pool hands it out exclusively) and is not thread-safe. Any I/O failure, timeout,
// malformed reply or 421 makes it unusable for good; the pool then closes it.
public sealed partial class OutboundConnection : IAsyncDisposable
{
    private static readonly TimeSpan QuitTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly OutboundOptions _options;
    private readonly ILogger _logger;
    private readonly OutboundMetrics _metrics;
    private Stream _stream;
    private PipeReader _reader;
    private PipeWriter _writer;
    private CancellationTokenSource? _operation;
    private CancellationToken _callerToken;
    private string _phase = "connecting";
    private bool _broken;
    private bool _counted;
    private int _disposed;

    private OutboundConnection(Socket socket, string hostName, IPEndPoint remote, OutboundOptions options, ILogger logger,
        OutboundMetrics metrics)
    {
        _socket = socket;
        HostName = hostName;
        RemoteEndPoint = remote;
        LocalEndPoint = socket.LocalEndPoint as IPEndPoint;
        _options = options;
        _logger = logger;
        _metrics = metrics;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    /// <summary>The MX (or route) name this address belongs to; the TLS server name.</summary>
    public string HostName { get; }

    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>The local end of the socket: the egress address the receiver sees.</summary>
    public IPEndPoint? LocalEndPoint { get; }

    /// <summary>What the receiver offered in its last EHLO reply (after STARTTLS, the second one); all false after HELO.</summary>
    public EhloCapabilities Capabilities { get; private set; }

    public bool IsTls => _stream is SslStream;

    /// <summary>MAIL FROM commands sent on this connection.</summary>
    public int Transactions { get; private set; }

    /// <summary>False once the connection failed, got 421 or was closed.</summary>
    public bool IsUsable => !_broken && Volatile.Read(ref _disposed) == 0;

    /// <summary>The source address asked for (null: the OS chose); part of the pool key.</summary>
    public IPAddress? RequestedSource { get; private init; }

    /// <summary>The name this connection said in EHLO/HELO (it goes with the source address); part of the pool key.</summary>
    public string EhloName { get; private init; } = "";

    // The pool's bookkeeping: the most transactions the current (or last) lease allows before the connection is closed.
    internal int MessageLimit { get; set; } = int.MaxValue;

    // The pool's bookkeeping: when the connection went idle (TimeProvider timestamp); 0 while leased.
    internal long IdleSince { get; set; }

    /// <summary>
    /// Connects and gets the session ready for MAIL. Throws <see cref="OutboundConnectionException"/> for every
    /// connection-level failure (the caller tries the next host); <see cref="OperationCanceledException"/> only when
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <param name="ehloName">The name for EHLO/HELO; null = <see cref="OutboundOptions.EhloName"/>.</param>
    public static async Task<OutboundConnection> OpenAsync(IPEndPoint remote, string hostName, IPAddress? source,
        string? ehloName, OutboundOptions options, ILogger logger, OutboundMetrics metrics, CancellationToken cancellationToken)
    {
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        OutboundConnection? connection = null;
        try
        {
            await ConnectAsync(socket, remote, hostName, source, options.ConnectTimeout, cancellationToken);
            connection = new OutboundConnection(socket, hostName, remote, options, logger, metrics) {
                RequestedSource = source,
                EhloName = ehloName ?? options.EhloName,
            };
            await connection.HandshakeAsync(cancellationToken);
            connection._counted = true;
            metrics.ConnectionOpened();
            return connection;
        }
        catch (OutboundConnectionException e)
        {
            metrics.ConnectionFailed(e.Reason);
            Log.ConnectionFailed(logger, hostName, remote, e.Reason, e.Message);
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
            socket.Dispose();
            throw;
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
            socket.Dispose();
            throw;
        }
    }

    private static async Task ConnectAsync(Socket socket, IPEndPoint remote, string hostName, IPAddress? source, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connectTimeout.CancelAfter(TimerSpan.Clamp(timeout));
        try
        {
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }
            await socket.ConnectAsync(remote, connectTimeout.Token);
        }
        catch (SocketException e)
        {
            throw new OutboundConnectionException("connect", 451, "4.4.1",
                $"connect to {hostName}[{remote}] from {source?.ToString() ?? "any address"}: {e.SocketErrorCode} ({e.Message})", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OutboundConnectionException("timeout", 451, "4.4.1",
                $"connect to {hostName}[{remote}]: timed out after {timeout.TotalSeconds:0.#} s", e);
        }
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        BeginOperation(cancellationToken);
        try
        {
            SmtpReply greeting = await ReadReplyAsync(_options.GreetingTimeout, "waiting for the greeting");
            if (!greeting.IsPositive)
            {
                throw Refusal("greeting", greeting, "refused to talk to me");
            }
            await EhloAsync();
            if (_options.Tls != OutboundTlsMode.Disabled)
            {
                await NegotiateTlsAsync();
            }
            Log.Connected(_logger, HostName, RemoteEndPoint, LocalEndPoint, greeting.Text);
        }
        catch (Exception e) when (Translate(e) is { } failure)
        {
            throw failure;
        }
        finally
        {
            EndOperation();
        }
    }

    private async Task EhloAsync()
    {
        ClientCommandWriter.WriteEhlo(_writer, EhloName);
        await FlushAsync(_options.GreetingTimeout, "sending EHLO");
        SmtpReply reply = await ReadReplyAsync(_options.GreetingTimeout, "waiting for the EHLO reply");
        if (reply.IsPermanent)
        {
            // RFC 5321 3.2: a server that does not know EHLO answers 5xx; older servers then take HELO.
            ClientCommandWriter.WriteHelo(_writer, EhloName);
            await FlushAsync(_options.GreetingTimeout, "sending HELO");
            reply = await ReadReplyAsync(_options.GreetingTimeout, "waiting for the HELO reply");
            if (!reply.IsPositive)
            {
                throw Refusal("helo", reply, "refused HELO");
            }
            Capabilities = default;
            return;
        }
        if (!reply.IsPositive)
        {
            throw Refusal("helo", reply, "refused EHLO");
        }
        Capabilities = EhloCapabilities.Parse(reply.Lines);
    }

    private async Task NegotiateTlsAsync()
    {
        if (!Capabilities.StartTls)
        {
            if (_options.Tls == OutboundTlsMode.Required)
            {
                throw new OutboundConnectionException("tls_required", 451, "4.7.4",
                    $"TLS is required, but was not offered by host {HostName}[{RemoteEndPoint}]");
            }
            return;
        }
        ClientCommandWriter.WriteStartTls(_writer);
        await FlushAsync(_options.GreetingTimeout, "sending STARTTLS");
        SmtpReply reply = await ReadReplyAsync(_options.GreetingTimeout, "waiting for the STARTTLS reply");
        if (!reply.IsPositive)
        {
            if (_options.Tls == OutboundTlsMode.Required)
            {
                throw Refusal("tls_required", reply, "refused STARTTLS");
            }
            return; // Opportunistic: the EHLO'd plaintext session is still valid (RFC 3207 4).
        }

        // The client side of CVE-2011-0411: bytes after the 220 arrived in plaintext and would be read as if they
        // came through TLS.
        if (_reader.TryRead(out ReadResult buffered))
        {
            bool injected = !buffered.Buffer.IsEmpty;
            _reader.AdvanceTo(buffered.Buffer.Start);
            if (injected)
            {
                throw new OutboundConnectionException("protocol", 451, "4.5.0",
                    $"host {HostName}[{RemoteEndPoint}] sent data after its STARTTLS reply, before the TLS handshake");
            }
        }
        await _reader.CompleteAsync();
        await _writer.CompleteAsync();
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        _stream = tls;
        _reader = PipeReader.Create(tls, new StreamPipeReaderOptions(leaveOpen: true));
        _writer = PipeWriter.Create(tls, new StreamPipeWriterOptions(leaveOpen: true));
        _phase = "in the TLS handshake";
        _operation!.CancelAfter(TimerSpan.Clamp(_options.GreetingTimeout));
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = HostName,
                // Without MTA-STS or DANE nothing says which name the certificate should carry, so opportunistic
                // TLS encrypts without authenticating, as Postfix's "may" level does.
                RemoteCertificateValidationCallback = _options.VerifyCertificate ? null : static (_, _, _, _) => true,
            }, _operation.Token);
        }
        catch (AuthenticationException e)
        {
            throw new OutboundConnectionException("tls", 451, "4.7.5", $"TLS handshake with {HostName}[{RemoteEndPoint}] failed: {e.Message}", e);
        }
        Log.TlsEstablished(_logger, HostName, RemoteEndPoint, tls.SslProtocol.ToString(), tls.NegotiatedCipherSuite.ToString());
        await EhloAsync(); // RFC 3207 4.2: forget what was learned before TLS.
    }

    /// <summary>Sends QUIT (bounded wait for the reply) when the connection is still usable, then closes it. Never throws.</summary>
    public async Task QuitAsync()
    {
        if (IsUsable)
        {
            BeginOperation(CancellationToken.None);
            try
            {
                ClientCommandWriter.WriteQuit(_writer);
                await FlushAsync(QuitTimeout, "sending QUIT");
                await ReadReplyAsync(QuitTimeout, "waiting for the QUIT reply");
            }
            catch (Exception e) when (Translate(e) is not null)
            {
                // The receiver may close first or not answer; either way the connection is being closed.
            }
            finally
            {
                EndOperation();
            }
        }
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _broken = true;
        await _reader.CompleteAsync();
        await _writer.CompleteAsync();
        await _stream.DisposeAsync();
        _socket.Dispose();
        if (_counted)
        {
            _metrics.ConnectionClosed();
        }
    }

    // One linked CTS per operation (handshake, transaction, QUIT), re-armed with CancelAfter for each phase's
    // RFC 5321 4.5.3.2 timeout, instead of one per read.
    private void BeginOperation(CancellationToken cancellationToken)
    {
        _callerToken = cancellationToken;
        _operation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    private void EndOperation()
    {
        _operation?.Dispose();
        _operation = null;
    }

    private async ValueTask<SmtpReply> ReadReplyAsync(TimeSpan timeout, string phase)
    {
        _phase = phase;
        _operation!.CancelAfter(TimerSpan.Clamp(timeout));
        while (true)
        {
            ReadResult result = await _reader.ReadAsync(_operation.Token);
            ReadOnlySequence<byte> buffer = result.Buffer;
            ReplyStatus status = ReplyParser.TryParse(buffer, out SequencePosition consumed, out SmtpReply? reply);
            if (status == ReplyStatus.Complete)
            {
                _reader.AdvanceTo(consumed);
                if (reply!.Code == 421)
                {
                    // RFC 5321 3.8: the receiver is closing the channel; nothing more can be done on it.
                    throw new OutboundConnectionException("shutdown_421", 421, reply.EnhancedStatus.Length > 0 ? reply.EnhancedStatus : "4.0.0",
                        $"host {HostName}[{RemoteEndPoint}] said: {reply} ({phase})");
                }
                return reply!;
            }
            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (status != ReplyStatus.Incomplete)
            {
                throw new OutboundConnectionException("protocol", 451, "4.5.0",
                    $"malformed reply from {HostName}[{RemoteEndPoint}] {phase}: {status}");
            }
            if (result.IsCompleted)
            {
                throw new OutboundConnectionException("lost", 451, "4.4.2",
                    $"lost connection with {HostName}[{RemoteEndPoint}] {phase}");
            }
        }
    }

    private async ValueTask FlushAsync(TimeSpan timeout, string phase)
    {
        _phase = phase;
        _operation!.CancelAfter(TimerSpan.Clamp(timeout));
        FlushResult result = await _writer.FlushAsync(_operation.Token);
        if (result.IsCompleted)
        {
            throw new OutboundConnectionException("lost", 451, "4.4.2", $"lost connection with {HostName}[{RemoteEndPoint}] {phase}");
        }
    }

    // A refusal at connection level is a deferral whatever its class: the next host, or a later attempt, may work.
    private OutboundConnectionException Refusal(string reason, SmtpReply reply, string what)
    {
        string enhanced = reply.EnhancedStatus.Length > 0 ? "4" + reply.EnhancedStatus[1..] : "4.0.0";
        return new OutboundConnectionException(reason, reply.IsTransient ? reply.Code : 451, enhanced,
            $"host {HostName}[{RemoteEndPoint}] {what}: {reply}");
    }

    // Turns what I/O can throw into a connection failure and marks the connection broken. Returns null for what
    // must propagate: the caller's own cancellation, and bugs.
    private OutboundConnectionException? Translate(Exception exception)
    {
        OutboundConnectionException? failure = exception switch
        {
            OutboundConnectionException e => e,
            OperationCanceledException when !_callerToken.IsCancellationRequested => new OutboundConnectionException("timeout", 451, "4.4.7",
                $"conversation with {HostName}[{RemoteEndPoint}] timed out {_phase}", exception),
            IOException or SocketException or ObjectDisposedException => new OutboundConnectionException("lost", 451, "4.4.2",
                $"lost connection with {HostName}[{RemoteEndPoint}] {_phase}: {exception.Message}", exception),
            AuthenticationException => new OutboundConnectionException("tls", 451, "4.7.5",
                $"TLS with {HostName}[{RemoteEndPoint}] failed: {exception.Message}", exception),
            _ => null,
        };
        if (failure is not null || exception is OperationCanceledException)
        {
            _broken = true;
        }
        return failure;
    }
}
