using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using FastMta.Smtp;
using FastMta.Spool;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace FastMta.Inbound;

// One SMTP server session on one connection (RFC 5321). This file is the I/O loop: read, let the codec-driven
// handlers (the other SmtpSession.*.cs parts) answer every complete command in the buffer, flush once when the
// buffer runs dry (RFC 2920 PIPELINING), then do the one asynchronous thing a command may need (durable commit,
// TLS handshake, AUTH password check). The handlers never do I/O; this loop never parses.
internal sealed partial class SmtpSession : IAsyncDisposable
{
    private enum InputMode { Command, Data, Bdat, AuthResponse }

    private enum SessionAction { Continue, CommitMessage, StartTls, Quit, Close, VerifyAuth }

    private readonly ConnectionContext _connection;
    private readonly SmtpServerContext _server;
    private readonly InboundOptions _options;
    private readonly IPAddress? _clientAddress;
    private readonly string _clientText; // formatted once: MAIL and the Received header need it for every message
    private readonly Timer _timer;
    private readonly byte[] _lineScratch;
    private PipeReader _input;
    private PipeWriter _output;
    private SslStream? _tls;
    private InputMode _mode;
    private CommandLineFramer _framer = new(CommandLineFramer.DefaultMaxLength);
    private int _errors;
    private volatile bool _timedOut;
    private volatile bool _shutdownRequested;
    private long _timerArmedAt;
    private TimeSpan _timerDuration;

    public SmtpSession(ConnectionContext connection, SmtpServerContext server)
    {
        _connection = connection;
        _server = server;
        _options = server.Options;
        _clientAddress = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        _clientText = _clientAddress?.ToString() ?? "unknown";
        _input = connection.Transport.Input;
        _output = connection.Transport.Output;
        _lineScratch = ArrayPool<byte>.Shared.Rent(CommandLineFramer.DefaultMaxLength);
        _timer = new Timer(static state => ((SmtpSession)state!).OnTimeout(), this, Timeout.Infinite, Timeout.Infinite);
        _relayAllowed = _clientAddress is not null && IsInRelayNetworks(_clientAddress);
    }

    // Waiting for a line from the client: a command, or the next response of an AUTH exchange. Not DATA/BDAT, where
    // the client is in the middle of sending a message.
    private bool WaitingForCommand => _mode is InputMode.Command or InputMode.AuthResponse;

    private string ClientText => _clientText;

    public async Task RunAsync()
    {
        _connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested
            .Register(static state => ((SmtpSession)state!).OnShutdownRequested(), this);
        ReplyWriter.Write(_output, _server.Banner);
        await _output.FlushAsync();
        string how = await ReadLoopAsync();
        _server.Metrics.SessionEnded(how);
        Log.SessionEnded(_server.Logger, _connection.ConnectionId, how);
    }

    private async Task<string> ReadLoopAsync()
    {
        while (true)
        {
            if (_shutdownRequested && WaitingForCommand)
            {
                return await CloseWithAsync(SmtpReplies.ShuttingDown.ToArray(), "shutdown");
            }
            ArmTimer(_mode is InputMode.Data or InputMode.Bdat ? _options.DataTimeout : _options.CommandTimeout);
            ReadResult result = await _input.ReadAsync();
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
            if (result.IsCanceled)
            {
                if (_timedOut && Stopwatch.GetElapsedTime(_timerArmedAt) >= _timerDuration)
                {
                    return await CloseWithAsync(SmtpReplies.IdleTimeout.ToArray(), "timeout");
                }
                _timedOut = false;
                continue;
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            SessionAction action = ProcessBuffer(buffer, out SequencePosition consumed, out bool needMoreInput);
            if (action == SessionAction.StartTls)
            {
                long discarded = buffer.Slice(consumed).Length;
                if (discarded > 0)
                {
                    Log.DiscardedAfterStartTls(_server.Logger, discarded, _connection.RemoteEndPoint);
                }
                consumed = buffer.End; // RFC 3207 / CVE-2011-0411: nothing sent before the handshake is obeyed
            }
            _input.AdvanceTo(consumed, needMoreInput ? buffer.End : consumed);

            if (_mode is InputMode.Data or InputMode.Bdat && _transaction is not null)
            {
                await _transaction.FlushAsync(_connection.ConnectionClosed); // move full chunks to the log
            }

            switch (action)
            {
                case SessionAction.CommitMessage:
                    await CommitMessageAsync();
                    break;
                case SessionAction.StartTls:
                    await _output.FlushAsync();
                    if (!await StartTlsAsync())
                    {
                        return "tls_failed";
                    }
                    continue;
                case SessionAction.VerifyAuth:
                    if (await VerifyAuthAsync() == SessionAction.Close)
                    {
                        await _output.FlushAsync();
                        return "too_many_errors";
                    }
                    break;
                case SessionAction.Quit:
                    return await CloseWithAsync(SmtpReplies.Bye.ToArray(), "quit");
                case SessionAction.Close:
                    await _output.FlushAsync();
                    return "too_many_errors";
            }

            FlushResult flush = await _output.FlushAsync();
            if (flush.IsCompleted || (result.IsCompleted && needMoreInput))
            {
                return "client_closed"; // an unfinished transaction is abandoned by Dispose: nothing reaches the spool
            }
        }
    }

    // Runs every complete command (or the body bytes) in the buffer through the handlers. Stops early when a command
    // needs asynchronous work; needMoreInput = everything here was consumed or is an incomplete line.
    private SessionAction ProcessBuffer(in ReadOnlySequence<byte> buffer, out SequencePosition consumed, out bool needMoreInput)
    {
        var reader = new SequenceReader<byte>(buffer);
        SessionAction action = SessionAction.Continue;
        needMoreInput = false;
        while (action == SessionAction.Continue)
        {
            if (_mode == InputMode.Data)
            {
                if (_decoder.Decode(ref reader, _poolHeader) == DataStatus.NeedMoreData)
                {
                    needMoreInput = true;
                    break;
                }
                action = FinishData();
            }
            else if (_mode == InputMode.Bdat)
            {
                if (!ConsumeBdatChunk(ref reader))
                {
                    needMoreInput = true;
                    break;
                }
                action = FinishBdatChunk();
            }
            else
            {
                LineStatus status = _framer.TryReadLine(ref reader, _lineScratch, out ReadOnlySpan<byte> line);
                if (status == LineStatus.Incomplete)
                {
                    needMoreInput = true;
                    break;
                }
                action = _mode == InputMode.AuthResponse ? HandleAuthResponse(status, line) : HandleLine(status, line);
            }
        }
        consumed = reader.Position;
        return action;
    }

    private async Task<string> CloseWithAsync(byte[] reply, string how)
    {
        ReplyWriter.Write(_output, reply);
        await _output.FlushAsync();
        return how;
    }

    // Counts a rejected command; a client that keeps failing is cut off (Postfix's hard error limit).
    private SessionAction Reject(ReadOnlySpan<byte> reply, string reason)
    {
        ReplyWriter.Write(_output, reply);
        _server.Metrics.Rejected(reason);
        if (++_errors >= _options.MaxErrors)
        {
            ReplyWriter.Write(_output, SmtpReplies.TooManyErrors);
            return SessionAction.Close;
        }
        return SessionAction.Continue;
    }

    private SessionAction Reply(ReadOnlySpan<byte> reply)
    {
        ReplyWriter.Write(_output, reply);
        return SessionAction.Continue;
    }

    private async Task<bool> StartTlsAsync()
    {
        var ssl = new SslStream(new DuplexPipeStream(_input, _output), leaveInnerStreamOpen: false);
        try
        {
            using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(_connection.ConnectionClosed);
            handshakeTimeout.CancelAfter(_options.CommandTimeout);
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _options.Certificate,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
            }, handshakeTimeout.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            _server.Metrics.TlsHandshake("failed");
            Log.TlsHandshakeFailed(_server.Logger, ex, _connection.RemoteEndPoint);
            await ssl.DisposeAsync();
            return false;
        }
        _server.Metrics.TlsHandshake("ok");
        _tls = ssl;
        _input = PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true));
        _output = PipeWriter.Create(ssl, new StreamPipeWriterOptions(leaveOpen: true));
        // RFC 3207 4.2: forget everything learned before TLS; the client must say EHLO again.
        _heloName = null;
        ResetTransaction();
        return true;
    }

    private void ArmTimer(TimeSpan timeout)
    {
        _timedOut = false;
        _timerDuration = timeout;
        _timerArmedAt = Stopwatch.GetTimestamp();
        _timer.Change(timeout, Timeout.InfiniteTimeSpan);
    }

    private void OnTimeout()
    {
        _timedOut = true;
        _input.CancelPendingRead();
    }

    private void OnShutdownRequested()
    {
        _shutdownRequested = true;
        if (WaitingForCommand)
        {
            _input.CancelPendingRead(); // a session waiting for a command hears 421 now; one in DATA finishes first
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync();
        _transaction?.Dispose();
        _transaction = null;
        if (_tls is not null)
        {
            await _input.CompleteAsync();
            await _output.CompleteAsync();
            await _tls.DisposeAsync();
        }
        ArrayPool<byte>.Shared.Return(_lineScratch);
        _poolHeader.Dispose();
    }
}
