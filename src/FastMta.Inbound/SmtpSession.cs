using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using FastMta.Intake;
using FastMta.Smtp;
using FastMta.Spool;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace FastMta.Inbound;

// One SMTP server session on one connection (RFC 5321). This file is the I/O loop: read, let the codec-driven
// handlers (the other SmtpSession.*.cs parts) answer every complete command in the buffer, flush once when the
// buffer runs dry (RFC 2920 PIPELINING), then do the one asynchronous thing a command may need (durable commit,
// TLS handshake, AUTH password check, a recipient policy that did not answer at once). The handlers never do I/O;
// this loop never parses.
//
// Slow and silent clients (slowloris) are bounded here, not by idle timers that every byte re-arms: a command line
// must be complete within CommandTimeout of the previous reply, however it trickles in; DATA/BDAT must average
// MinDataRate bytes per second of waiting once the grace period is over (Kestrel's MinRequestBodyDataRate); and a
// client that pipelines commands without reading the replies is no longer answered past MaxUnflushedReplyBytes: the
// loop stops reading and waits on the flush, and a flush that makes no progress within CommandTimeout aborts the
// connection.
internal sealed partial class SmtpSession : IAsyncDisposable
{
    private enum InputMode { Command, Data, Bdat, AuthResponse }

    private enum SessionAction { Continue, CommitMessage, StartTls, Quit, Close, VerifyAuth, CheckRecipient }

    // What the read deadline is waiting for, so an expiry gets its own reply and metric.
    private enum Deadline { Command, DataIdle, DataRate }

    // Replies written but not flushed beyond which no further pipelined command is answered until the client has read
    // some: with the transport's own output window (Kestrel's 64 KiB pause threshold) this bounds a session's reply
    // backlog, where answering a whole 1 MiB read of NOOPs used to buffer 2.4 MB of replies.
    private const int MaxUnflushedReplyBytes = 16 * 1024;
    // Fallback bound when the writer cannot report its unflushed bytes: commands answered per pass over the buffer.
    private const int MaxCommandsPerFlush = 256;

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
    private volatile bool _flushing; // the armed deadline is a write's: the timer cancels the flush, not the read
    private long _deadline;          // Stopwatch timestamp at which the current read fails
    private long _writeDeadline;     // and the current flush
    private bool _writeStalled;
    private Deadline _deadlineKind;
    private bool _commandPending;    // a command's deadline is running: reads that complete no line do not restart it
    private bool _dataDeadlineArmed; // the DATA/BDAT deadline stands until more data arrives
    private long _unprocessedBytes;  // left in the input by the last pass: a read returning more brought new bytes
    private bool _metering;          // a message's body is being measured against MinDataRate
    private long _dataBytes;
    private long _dataWaitTicks;     // time spent waiting for body bytes (not the server's own spool writes)

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
        _recipientScratch = ArrayPool<byte>.Shared.Rent(CommandLineFramer.DefaultMaxLength);
        _timer = new Timer(static state => ((SmtpSession)state!).OnTimeout(), this, Timeout.Infinite, Timeout.Infinite);
        _relayAllowed = _clientAddress is not null && _server.IsInRelayNetworks(_clientAddress);
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
        string how = await TryFlushAsync() ? await ReadLoopAsync() : FlushFailure;
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
            if (!ArmReadDeadline())
            {
                return await ExpireAsync(); // the client's time ran out while it kept the loop busy
            }
            long waitStart = Stopwatch.GetTimestamp();
            ReadResult result = await _input.ReadAsync();
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
            if (_metering)
            {
                _dataWaitTicks += Stopwatch.GetTimestamp() - waitStart;
            }
            if (result.IsCanceled && _timedOut && Stopwatch.GetTimestamp() >= _deadline)
            {
                _input.AdvanceTo(result.Buffer.Start);
                return await ExpireAsync();
            }
            // Otherwise a cancelled read (shutdown, or a timer that woke a little early) is processed like any other:
            // it may carry bytes, and the loop's top sees the shutdown.
            _timedOut = false;

            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length > _unprocessedBytes)
            {
                _dataDeadlineArmed = false; // new bytes: DATA's idle timeout starts again
            }
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
            _unprocessedBytes = action == SessionAction.StartTls ? 0 : buffer.Slice(consumed).Length;

            if (_mode is InputMode.Data or InputMode.Bdat && _transaction is not null)
            {
                IntakeResult flushed = await _transaction.FlushAsync(_connection.ConnectionClosed); // full chunks to the log
                if (!flushed.IsAccepted)
                {
                    // The body cannot be stored (back-pressure timeout, no space, storage failed) and the rest of
                    // it is still on its way: a message cannot be refused mid-body, so say why and close (RFC 5321
                    // 3.8 allows 421 at any point). Nothing of the message reaches the spool.
                    var spool = (SpoolUnavailableException)flushed.Cause!;
                    Log.SpoolUnavailable(_server.Logger, spool, _connection.RemoteEndPoint, _connection.ConnectionId, spool.Reason);
                    _server.Metrics.Rejected(IntakeReplies.Reason(flushed.Rejection));
                    ResetTransaction();
                    return await CloseWithAsync(IntakeReplies.ClosingReply(flushed.Rejection).ToArray(), "spool_unavailable");
                }
            }

            switch (action)
            {
                case SessionAction.CommitMessage:
                    if (await CommitMessageAsync() == SessionAction.Close)
                    {
                        await TryFlushAsync();
                        return "too_many_errors";
                    }
                    break;
                case SessionAction.CheckRecipient:
                    if (AcceptRecipient(await _pendingRecipient) == SessionAction.Close)
                    {
                        await TryFlushAsync();
                        return "too_many_errors";
                    }
                    break;
                case SessionAction.StartTls:
                    if (!await TryFlushAsync())
                    {
                        return FlushFailure;
                    }
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
                    await TryFlushAsync();
                    return "too_many_errors";
            }

            if (!await TryFlushAsync())
            {
                return FlushFailure;
            }
            if (result.IsCompleted && needMoreInput)
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
        int answered = 0;
        while (action == SessionAction.Continue)
        {
            if (_mode == InputMode.Data)
            {
                long before = reader.Consumed;
                DataStatus data = _decoder.Decode(ref reader, _transaction!.Content);
                _dataBytes += reader.Consumed - before;
                if (data == DataStatus.NeedMoreData)
                {
                    needMoreInput = true;
                    break;
                }
                _metering = false;
                action = FinishData();
            }
            else if (_mode == InputMode.Bdat)
            {
                long before = reader.Consumed;
                bool chunkDone = ConsumeBdatChunk(ref reader);
                _dataBytes += reader.Consumed - before;
                if (!chunkDone)
                {
                    needMoreInput = true;
                    break;
                }
                action = FinishBdatChunk();
                if (_bdatLast || !_bdatStarted)
                {
                    _metering = false; // the message is over (or was never started); the next one is measured afresh
                }
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
                if (_mode is InputMode.Data or InputMode.Bdat && !_metering)
                {
                    _metering = true;
                    _dataBytes = 0;
                    _dataWaitTicks = 0;
                }
            }
            _commandPending = false; // a line or a body is complete: the next command's deadline starts afresh
            if (action == SessionAction.Continue && ReplyBacklogFull(++answered))
            {
                break; // the rest stays in the input until the client has read what it was sent
            }
        }
        consumed = reader.Position;
        return action;
    }

    private bool ReplyBacklogFull(int answered) =>
        _output.CanGetUnflushedBytes ? _output.UnflushedBytes >= MaxUnflushedReplyBytes : answered >= MaxCommandsPerFlush;

    private async Task<string> CloseWithAsync(byte[] reply, string how)
    {
        ReplyWriter.Write(_output, reply);
        await TryFlushAsync();
        return how;
    }

    // How the session ended when TryFlushAsync failed.
    private string FlushFailure => _writeStalled ? "write_timeout" : "client_closed";

    // Flushes the replies. False when the client has gone, or when the flush made no progress within the command
    // timeout (a client that does not read): the connection is then aborted, since nothing more can be said to it.
    // Pooled builder: a flush that waits for the socket would otherwise allocate its state machine each time.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> TryFlushAsync()
    {
        ValueTask<FlushResult> pending = _output.FlushAsync();
        if (pending.IsCompletedSuccessfully)
        {
            return !pending.Result.IsCompleted; // the common case: the socket took it all, no timer needed
        }
        _writeDeadline = Stopwatch.GetTimestamp() + ToTicks(_options.CommandTimeout);
        _flushing = true;
        ArmTimer(_writeDeadline);
        try
        {
            while (true)
            {
                FlushResult result;
                try
                {
                    result = await pending;
                }
                catch (OperationCanceledException) when (_timedOut)
                {
                    result = new FlushResult(isCanceled: true, isCompleted: false); // a stream writer (TLS) throws instead
                }
                if (!result.IsCanceled)
                {
                    _timedOut = false;
                    return !result.IsCompleted;
                }
                if (_timedOut && Stopwatch.GetTimestamp() >= _writeDeadline)
                {
                    break;
                }
                ArmTimer(_writeDeadline); // woken early or by a stale cancellation: keep waiting until the deadline
                pending = _output.FlushAsync();
            }
        }
        finally
        {
            _flushing = false;
            _timer.Change(Timeout.Infinite, Timeout.Infinite);
        }
        _writeStalled = true;
        _server.Metrics.SlowClientCutOff("write_stalled");
        Log.WriteStalled(_server.Logger, _connection.ConnectionId, _connection.RemoteEndPoint, _options.CommandTimeout);
        _connection.Abort(new ConnectionAbortedException("The client did not read its replies within the command timeout."));
        return false;
    }

    // Arms the timer for the next read. A command's deadline runs from the first wait after the previous reply and is
    // not moved by reads that complete no line. In DATA/BDAT the deadline is the earlier of the idle timeout (from the
    // last bytes) and the moment the average rate falls below MinDataRate. False: that moment has already passed.
    private bool ArmReadDeadline()
    {
        long now = Stopwatch.GetTimestamp();
        if (WaitingForCommand)
        {
            if (!_commandPending)
            {
                _commandPending = true;
                _deadline = now + ToTicks(_options.CommandTimeout);
            }
            _deadlineKind = Deadline.Command;
        }
        else if (!_dataDeadlineArmed)
        {
            _dataDeadlineArmed = true;
            _deadline = now + ToTicks(_options.DataTimeout);
            _deadlineKind = Deadline.DataIdle;
            if (_options.MinDataRate > 0 && _metering)
            {
                // Below the rate once the waiting time exceeds bytes / rate; never within the grace period.
                double earnedSeconds = Math.Max(_options.MinDataRateGracePeriod.TotalSeconds, (double)_dataBytes / _options.MinDataRate);
                long rateDeadline = now + (long)Math.Min(earnedSeconds * Stopwatch.Frequency, long.MaxValue / 4) - _dataWaitTicks;
                if (rateDeadline < _deadline)
                {
                    _deadline = rateDeadline;
                    _deadlineKind = Deadline.DataRate;
                }
            }
        }
        if (now >= _deadline)
        {
            return false;
        }
        ArmTimer(_deadline);
        return true;
    }

    // The read deadline passed: 421 and close.
    private async Task<string> ExpireAsync()
    {
        switch (_deadlineKind)
        {
            case Deadline.DataRate:
                _server.Metrics.SlowClientCutOff("data_rate");
                Log.DataRateTooLow(_server.Logger, _connection.ConnectionId, _connection.RemoteEndPoint, _dataBytes,
                    TimeSpan.FromSeconds((double)_dataWaitTicks / Stopwatch.Frequency), _options.MinDataRate);
                return await CloseWithAsync(SmtpReplies.DataRateTooLow.ToArray(), "data_rate");
            default:
                return await CloseWithAsync(SmtpReplies.IdleTimeout.ToArray(), "timeout");
        }
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

    private void ArmTimer(long deadline)
    {
        _timedOut = false;
        // Clamped: Timer refuses due times beyond 2^32-2 ms (49.7 days); an early wake-up just re-arms.
        double ms = Math.Clamp((deadline - Stopwatch.GetTimestamp()) * 1000.0 / Stopwatch.Frequency, 0, uint.MaxValue - 2.0);
        _timer.Change(TimeSpan.FromMilliseconds(Math.Ceiling(ms)), Timeout.InfiniteTimeSpan);
    }

    private static long ToTicks(TimeSpan span) => (long)Math.Min(span.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 4);

    private void OnTimeout()
    {
        _timedOut = true;
        if (_flushing)
        {
            _output.CancelPendingFlush();
        }
        else
        {
            _input.CancelPendingRead();
        }
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
            try
            {
                await _input.CompleteAsync();
                await _output.CompleteAsync(); // flushes what is left: fails on a connection aborted mid-write
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or NotSupportedException
                                           or ObjectDisposedException or InvalidOperationException)
            {
                // The session is over either way; the client went away or was cut off with replies unsent.
            }
            await _tls.DisposeAsync();
        }
        ArrayPool<byte>.Shared.Return(_lineScratch);
        ArrayPool<byte>.Shared.Return(_recipientScratch);
    }
}
