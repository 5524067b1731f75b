using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastMta.Tests.Shared;

/// <summary>A recipient as the sink saw it: the address, the connection, and how many RCPTs for it came before.</summary>
public sealed record SinkRecipient(string Address, int ConnectionNumber, int PreviousAttempts);

/// <summary>One message the sink accepted: the envelope, the exact (unstuffed) bytes, and who sent it. With
/// <see cref="LoopbackSmtpSinkOptions.KeepData"/> off, <see cref="Data"/> holds only the first
/// <see cref="LoopbackSmtpSinkOptions.DigestHeadBytes"/> and <see cref="TailSha256"/> the SHA-256 of the rest.</summary>
public sealed record SinkMessage(string Sender, IReadOnlyList<string> Recipients, byte[] Data, int ConnectionNumber,
    IPEndPoint Peer, bool ViaBdat, string MailParameters)
{
    /// <summary>The message's length in bytes (also when the data was not kept).</summary>
    public long Length { get; init; } = Data.Length;

    /// <summary>SHA-256 of the bytes after <see cref="Data"/>; null when the whole message was kept.</summary>
    public byte[]? TailSha256 { get; init; }
}

/// <summary>One command line the sink read, with the number of the socket read that delivered it.</summary>
public sealed record SinkCommand(int ConnectionNumber, int ReadNumber, string Line);

public sealed class LoopbackSmtpSinkOptions
{
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>0 = an ephemeral port. Set it to put several sinks on one port at different 127.0.0.x addresses (MX
    /// delivery uses one port for every host).</summary>
    public int Port { get; init; }
    public bool Pipelining { get; init; } = true;
    public bool Chunking { get; init; } = true;
    public bool EightBitMime { get; init; } = true;
    public bool SmtpUtf8 { get; init; } = true;

    /// <summary>Advertised as "SIZE n" when set.</summary>
    public long? Size { get; init; }

    /// <summary>Answer EHLO with 502, so the client must fall back to HELO.</summary>
    public bool RejectEhlo { get; init; }

    /// <summary>Answer every connection with this greeting and close (e.g. "421 4.3.2 busy"); null = 220.</summary>
    public string? GreetingRejection { get; init; }

    /// <summary>Accept and close at once, without a greeting.</summary>
    public bool CloseImmediately { get; init; }

    /// <summary>The reply to a RCPT (a full line without CRLF, e.g. "550 5.1.1 unknown"); null or a null result = 250.
    /// A 421 reply closes the connection after it is sent.</summary>
    public Func<SinkRecipient, string?>? RcptReply { get; init; }

    /// <summary>The reply at end of data (DATA terminator or BDAT LAST); null or a null result = 250 and the message is
    /// recorded; any other reply means it is not recorded.</summary>
    public Func<SinkMessage, string?>? DataReply { get; init; }

    /// <summary>Keep every message's bytes (default). Off: keep the first <see cref="DigestHeadBytes"/> and a SHA-256 of
    /// the rest, so that large messages do not pile up in the test process.</summary>
    public bool KeepData { get; init; } = true;

    public int DigestHeadBytes { get; init; } = 16 * 1024;

    /// <summary>Bound on every socket read; a client silent this long is disconnected.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A real SMTP receiver on a loopback TcpListener (ephemeral port) for tests: EHLO/HELO with configurable
/// extensions, MAIL/RCPT/DATA (dots unstuffed)/BDAT/RSET/NOOP/QUIT, programmable replies, and a record of every
/// message, command and connection. No STARTTLS. Bounded: every read has a timeout and Dispose stops everything.
/// </summary>
public sealed class LoopbackSmtpSink : IAsyncDisposable
{
    private readonly LoopbackSmtpSinkOptions _options;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<SinkMessage> _messages = new();
    private readonly ConcurrentQueue<SinkCommand> _commands = new();
    private readonly ConcurrentDictionary<string, int> _rcptAttempts = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<int, Task> _sessions = new();
    private readonly SemaphoreSlim _messageArrived = new(0);
    private readonly Task _acceptLoop;
    private int _connections;

    public LoopbackSmtpSink(LoopbackSmtpSinkOptions? options = null)
    {
        _options = options ?? new LoopbackSmtpSinkOptions();
        _listener = new TcpListener(_options.Address, _options.Port);
        _listener.Start();
        EndPoint = (IPEndPoint)_listener.LocalEndpoint;
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint { get; }

    public int ConnectionCount => Volatile.Read(ref _connections);

    public IReadOnlyList<SinkMessage> Messages => _messages.ToArray();

    public IReadOnlyList<SinkCommand> Commands => _commands.ToArray();

    /// <summary>An address on which nothing listens (connections are refused): a port just released.</summary>
    public static IPEndPoint UnusedEndPoint(IPAddress address)
    {
        var listener = new TcpListener(address, 0);
        listener.Start();
        var endPoint = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();
        return endPoint;
    }

    /// <summary>Waits until at least <paramref name="count"/> messages were accepted; throws TimeoutException otherwise.</summary>
    public async Task<IReadOnlyList<SinkMessage>> WaitForMessagesAsync(int count, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (_messages.Count < count)
        {
            try
            {
                await _messageArrived.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"The sink received {_messages.Count} of {count} messages in {timeout}.");
            }
        }
        return Messages;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await Task.WhenAll(_sessions.Values.Append(_acceptLoop)).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _stop.Dispose();
        _messageArrived.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            int number = Interlocked.Increment(ref _connections);
            _sessions[number] = SessionAsync(socket, number);
        }
    }

    private async Task SessionAsync(Socket socket, int number)
    {
        using (socket)
        {
            try
            {
                await new Session(this, socket, number).RunAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, a read timed out or the sink stopped: the session just ends.
            }
        }
    }

    private sealed class Session(LoopbackSmtpSink sink, Socket socket, int number)
    {
        private readonly NetworkStream _stream = new(socket, ownsSocket: false);
        private readonly byte[] _readBuffer = new byte[64 * 1024];
        private readonly MemoryStream _pending = new();
        private readonly List<string> _recipients = [];
        private BodyStream _bdat = null!;
        private int _reads;
        private string? _sender;
        private string _mailParameters = "";

        private LoopbackSmtpSinkOptions Options => sink._options;

        public async Task RunAsync()
        {
            if (Options.CloseImmediately)
            {
                return;
            }
            if (Options.GreetingRejection is { } rejection)
            {
                await SendAsync(rejection);
                return;
            }
            await SendAsync("220 sink.test ESMTP");
            while (true)
            {
                string? line = await ReadLineAsync();
                if (line is null)
                {
                    return;
                }
                sink._commands.Enqueue(new SinkCommand(number, _reads, line));
                if (!await HandleAsync(line))
                {
                    return;
                }
            }
        }

        // Returns false when the session ends.
        private async Task<bool> HandleAsync(string line)
        {
            string verb = (line.Length >= 4 ? line[..4] : line).ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    if (Options.RejectEhlo)
                    {
                        await SendAsync("502 5.5.1 EHLO not implemented");
                        return true;
                    }
                    var ehlo = new List<string> { "sink.test" };
                    if (Options.Pipelining)
                    {
                        ehlo.Add("PIPELINING");
                    }

                    if (Options.Size is long size)
                    {
                        ehlo.Add($"SIZE {size}");
                    }

                    if (Options.EightBitMime)
                    {
                        ehlo.Add("8BITMIME");
                    }

                    if (Options.SmtpUtf8)
                    {
                        ehlo.Add("SMTPUTF8");
                    }

                    if (Options.Chunking)
                    {
                        ehlo.Add("CHUNKING");
                    }

                    ehlo.Add("ENHANCEDSTATUSCODES");
                    await SendAsync(string.Join("\r\n", ehlo.Select((text, i) => (i == ehlo.Count - 1 ? "250 " : "250-") + text)));
                    return true;
                case "HELO":
                    await SendAsync("250 sink.test");
                    return true;
                case "MAIL":
                    int close = line.IndexOf('>', StringComparison.Ordinal);
                    _sender = line[(line.IndexOf('<', StringComparison.Ordinal) + 1)..close];
                    _mailParameters = line[(close + 1)..].Trim();
                    _recipients.Clear();
                    _bdat = new BodyStream(Options);
                    await SendAsync("250 2.1.0 Ok");
                    return true;
                case "RCPT":
                    if (_sender is null)
                    {
                        await SendAsync("503 5.5.1 need MAIL");
                        return true;
                    }
                    string address = line[(line.IndexOf('<', StringComparison.Ordinal) + 1)..line.LastIndexOf('>')];
                    int previous = sink._rcptAttempts.AddOrUpdate(address, 1, (_, n) => n + 1) - 1;
                    string reply = Options.RcptReply?.Invoke(new SinkRecipient(address, number, previous)) ?? "250 2.1.5 Ok";
                    if (reply.StartsWith('2'))
                    {
                        _recipients.Add(address);
                    }
                    await SendAsync(reply);
                    return !reply.StartsWith("421", StringComparison.Ordinal);
                case "DATA":
                    if (_recipients.Count == 0)
                    {
                        await SendAsync("554 5.5.1 no valid recipients");
                        return true;
                    }
                    await SendAsync("354 go ahead");
                    return await FinishAsync(await ReadDotDataAsync(), viaBdat: false);
                case "BDAT":
                    string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    byte[] chunk = await ReadExactlyAsync(int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture));
                    bool last = words.Length > 2 && words[2].Equals("LAST", StringComparison.OrdinalIgnoreCase);
                    if (_recipients.Count == 0)
                    {
                        await SendAsync("554 5.5.1 no valid recipients");
                        return true;
                    }
                    _bdat.Write(chunk);
                    if (!last)
                    {
                        await SendAsync($"250 2.0.0 {chunk.Length} octets received");
                        return true;
                    }
                    return await FinishAsync(_bdat, viaBdat: true);
                case "RSET":
                    _sender = null;
                    _recipients.Clear();
                    _bdat = new BodyStream(Options);
                    await SendAsync("250 2.0.0 Ok");
                    return true;
                case "NOOP":
                    await SendAsync("250 2.0.0 Ok");
                    return true;
                case "QUIT":
                    await SendAsync("221 2.0.0 Bye");
                    return false;
                default:
                    await SendAsync("502 5.5.1 not implemented");
                    return true;
            }
        }

        private async Task<bool> FinishAsync(BodyStream data, bool viaBdat)
        {
            var message = new SinkMessage(_sender!, _recipients.ToArray(), data.Head(), number, (IPEndPoint)socket.RemoteEndPoint!, viaBdat,
                _mailParameters)
            {
                Length = data.Length,
                TailSha256 = data.TailSha256(),
            };
            string reply = Options.DataReply?.Invoke(message) ?? "250 2.0.0 Ok: queued";
            if (reply.StartsWith('2'))
            {
                sink._messages.Enqueue(message);
                sink._messageArrived.Release();
            }
            _sender = null;
            _recipients.Clear();
            _bdat = new BodyStream(Options);
            await SendAsync(reply);
            return !reply.StartsWith("421", StringComparison.Ordinal);
        }

        private async Task SendAsync(string reply)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(reply + "\r\n");
            await _stream.WriteAsync(bytes, sink._stop.Token);
        }

        private async Task<bool> FillAsync()
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(sink._stop.Token);
            timeout.CancelAfter(Options.ReadTimeout);
            int read = await _stream.ReadAsync(_readBuffer, timeout.Token);
            if (read == 0)
            {
                return false;
            }
            _reads++;
            long position = _pending.Position;
            _pending.Seek(0, SeekOrigin.End);
            _pending.Write(_readBuffer, 0, read);
            _pending.Position = position;
            return true;
        }

        // One CRLF-terminated line as raw bytes (without CRLF); null at end of stream.
        private async Task<byte[]?> ReadRawLineAsync()
        {
            while (true)
            {
                byte[] buffer = _pending.GetBuffer();
                int start = (int)_pending.Position;
                int end = (int)_pending.Length;
                int lf = Array.IndexOf(buffer, (byte)'\n', start, end - start);
                if (lf >= 0)
                {
                    _pending.Position = lf + 1;
                    int length = lf - start;
                    if (length > 0 && buffer[lf - 1] == (byte)'\r')
                    {
                        length--;
                    }
                    byte[] line = buffer[start..(start + length)];
                    Compact();
                    return line;
                }
                if (!await FillAsync())
                {
                    return null;
                }
            }
        }

        private async Task<string?> ReadLineAsync() => await ReadRawLineAsync() is { } line ? Encoding.UTF8.GetString(line) : null;

        // RFC 5321 4.5.2: the data ends at a line holding only "."; a leading dot of any other line is removed.
        private async Task<BodyStream> ReadDotDataAsync()
        {
            var data = new BodyStream(Options);
            while (true)
            {
                byte[] line = await ReadRawLineAsync() ?? throw new IOException("connection closed in DATA");
                if (line is [(byte)'.'])
                {
                    return data;
                }
                data.Write(line.AsSpan(line.Length > 0 && line[0] == (byte)'.' ? 1 : 0));
                data.Write("\r\n"u8);
            }
        }

        private async Task<byte[]> ReadExactlyAsync(int count)
        {
            while (_pending.Length - _pending.Position < count)
            {
                if (!await FillAsync())
                {
                    throw new IOException("connection closed in BDAT");
                }
            }
            byte[] chunk = new byte[count];
            _pending.ReadExactly(chunk);
            Compact();
            return chunk;
        }

        private void Compact()
        {
            if (_pending.Position == _pending.Length)
            {
                _pending.SetLength(0);
            }
            else if (_pending.Position >= _readBuffer.Length)
            {
                // Move the unread rest to the front, so a long DATA stream does not pile up here line after line.
                byte[] buffer = _pending.GetBuffer();
                int rest = (int)(_pending.Length - _pending.Position);
                Buffer.BlockCopy(buffer, (int)_pending.Position, buffer, 0, rest);
                _pending.SetLength(rest);
                _pending.Position = 0;
            }
        }
    }

    // A message's bytes as they arrive: all of them, or (KeepData off) the head and a running SHA-256 of the rest.
    private sealed class BodyStream(LoopbackSmtpSinkOptions options)
    {
        private readonly MemoryStream _kept = new();
        private System.Security.Cryptography.IncrementalHash? _tail;

        public long Length { get; private set; }

        public void Write(ReadOnlySpan<byte> bytes)
        {
            Length += bytes.Length;
            if (options.KeepData)
            {
                _kept.Write(bytes);
                return;
            }
            int head = (int)Math.Min(bytes.Length, Math.Max(0, options.DigestHeadBytes - _kept.Length));
            _kept.Write(bytes[..head]);
            if (head < bytes.Length)
            {
                _tail ??= System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
                _tail.AppendData(bytes[head..]);
            }
        }

        public byte[] Head() => _kept.ToArray();

        public byte[]? TailSha256() => options.KeepData ? null
            : _tail?.GetHashAndReset() ?? System.Security.Cryptography.SHA256.HashData(ReadOnlySpan<byte>.Empty);
    }
}
