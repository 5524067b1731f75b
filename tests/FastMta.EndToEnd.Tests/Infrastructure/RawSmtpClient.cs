using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Xunit.Sdk;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// A byte-exact SMTP client over a real socket: writes exactly what a test gives it (pipelined groups, bare LF, NUL,
// partial bodies), reads replies line by line with a timeout on every read, and can switch to TLS. Every failure
// message carries the session transcript and the server's log.
public sealed class RawSmtpClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private const int MaxTranscriptChars = 64 * 1024;

    private readonly TcpClient _tcp;
    private readonly ServerProcess _server;
    private readonly StringBuilder _transcript = new();
    private readonly byte[] _buffer = new byte[64 * 1024];
    private Stream _stream;
    private int _start;
    private int _end;

    private RawSmtpClient(TcpClient tcp, ServerProcess server)
    {
        _tcp = tcp;
        _server = server;
        _stream = tcp.GetStream();
    }

    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    public SmtpReply? Banner { get; private set; }

    public bool IsTls => _stream is SslStream;

    public string Transcript
    {
        get
        {
            lock (_transcript)
            {
                return _transcript.ToString();
            }
        }
    }

    public static Task<RawSmtpClient> ConnectAsync(ServerProcess server, bool readBanner = true) =>
        ConnectFromAsync(server, IPAddress.Loopback, readBanner);

    // Connects from another loopback address (127.0.0.2, 127.0.0.3, ...: all of 127.0.0.0/8 is local on Linux), so one
    // test can be several clients as far as per-address limits are concerned.
    public static async Task<RawSmtpClient> ConnectFromAsync(ServerProcess server, IPAddress localAddress, bool readBanner = true)
    {
        var tcp = new TcpClient(new IPEndPoint(localAddress, 0)) { NoDelay = true };
        using (var cts = new CancellationTokenSource(DefaultTimeout))
        {
            try
            {
                await tcp.ConnectAsync(IPAddress.Loopback, server.SmtpPort, cts.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                tcp.Dispose();
                throw server.Failure($"Cannot connect from {localAddress} to 127.0.0.1:{server.SmtpPort}: {ex.Message}");
            }
        }
        var client = new RawSmtpClient(tcp, server);
        if (readBanner)
        {
            client.Banner = await client.ExpectAsync(220);
        }
        return client;
    }

    public Task WriteAsync(string text) => WriteAsync(Encoding.UTF8.GetBytes(text).AsMemory());

    public Task WriteAsync(byte[] bytes) => WriteAsync(bytes.AsMemory());

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        Record("C", bytes.Span);
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await _stream.WriteAsync(bytes, cts.Token);
            await _stream.FlushAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw Fail($"Writing {bytes.Length} bytes did not finish within {Timeout}.");
        }
    }

    // Writes a command line (CRLF added) and expects one reply with this code and, when given, enhanced code.
    public async Task<SmtpReply> CommandAsync(string command, int code, string? enhancedCode = null)
    {
        await WriteAsync(command + "\r\n");
        return await ExpectAsync(code, enhancedCode);
    }

    public Task<SmtpReply> EhloAsync(string name = "client.test.example") => CommandAsync("EHLO " + name, 250);

    public async Task<SmtpReply> ExpectAsync(int code, string? enhancedCode = null)
    {
        SmtpReply reply = await ReadReplyAsync();
        if (reply.Code != code || (enhancedCode is not null && reply.EnhancedCode != enhancedCode))
        {
            throw Fail($"Expected {code} {enhancedCode} but the server replied: {reply}");
        }
        return reply;
    }

    public async Task<SmtpReply> ReadReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            string? line = await ReadLineAsync();
            if (line is null)
            {
                throw Fail(lines.Count == 0
                    ? "The server closed the connection instead of replying."
                    : "The server closed the connection in the middle of a multi-line reply.");
            }
            if (line.Length < 3 || !line[..3].All(char.IsAsciiDigit) || (line.Length > 3 && line[3] is not (' ' or '-')))
            {
                throw Fail($"Malformed reply line: '{line}'");
            }
            if (lines.Count > 0 && line[..3] != lines[0][..3])
            {
                throw Fail($"Reply code changed inside a multi-line reply: '{line}'");
            }
            lines.Add(line);
            if (line.Length == 3 || line[3] == ' ')
            {
                return new SmtpReply(int.Parse(line[..3]), lines);
            }
        }
    }

    // The server must close the connection (FIN or RST) without sending anything more.
    public async Task ExpectClosedAsync()
    {
        if (_end > _start)
        {
            throw Fail($"Expected the connection to close, but unread data is pending: '{Encoding.UTF8.GetString(_buffer, _start, _end - _start)}'");
        }
        int n = await ReadSomeAsync();
        if (n > 0)
        {
            throw Fail($"Expected the connection to close, but the server sent: '{Encoding.UTF8.GetString(_buffer, _start, _end - _start)}'");
        }
    }

    // STARTTLS -> 220, then the TLS handshake (any certificate accepted: the test server's is self-signed).
    public async Task StartTlsAsync()
    {
        await CommandAsync("STARTTLS", 220, "2.0.0");
        await UpgradeToTlsAsync();
    }

    public async Task UpgradeToTlsAsync()
    {
        if (_end > _start)
        {
            throw Fail("The server sent more bytes after its 220 to STARTTLS, before the TLS handshake.");
        }
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = ServerProcess.Hostname,
                RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            }, cts.Token);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            await ssl.DisposeAsync();
            throw Fail($"TLS handshake failed: {ex}");
        }
        Record("*", "TLS established"u8);
        _stream = ssl;
    }

    public async Task AuthPlainAsync(string user, string password, int expectedCode, string? enhancedCode = null)
    {
        string response = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await CommandAsync("AUTH PLAIN " + response, expectedCode, enhancedCode);
    }

    // Sends one complete transaction (EHLO already done) and returns the queued id.
    public async Task<string> SendMessageAsync(string sender, IEnumerable<string> recipients, byte[] content)
    {
        await CommandAsync($"MAIL FROM:<{sender}>", 250, "2.1.0");
        foreach (string rcpt in recipients)
        {
            await CommandAsync($"RCPT TO:<{rcpt}>", 250, "2.1.5");
        }
        await CommandAsync("DATA", 354);
        await WriteAsync(MessageContent.DotStuff(content));
        return (await ExpectAsync(250, "2.0.0")).QueuedId;
    }

    public XunitException Fail(string message) =>
        new($"{message}\n--- SMTP transcript ---\n{Transcript}--- end of transcript ---\n{ServerProcess.FormatLog(_server.Log)}");

    public ValueTask DisposeAsync()
    {
        try
        {
            _stream.Dispose();
        }
        catch (IOException)
        {
            // the peer already reset the connection
        }
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<string?> ReadLineAsync()
    {
        while (true)
        {
            int lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                if (lf == _start || _buffer[lf - 1] != '\r')
                {
                    throw Fail("A reply line was not terminated by CRLF.");
                }
                string line = Encoding.UTF8.GetString(_buffer, _start, lf - 1 - _start);
                _start = lf + 1;
                Record("S", Encoding.UTF8.GetBytes(line + "\r\n"));
                return line;
            }
            if (await ReadSomeAsync() == 0)
            {
                if (_end > _start)
                {
                    throw Fail($"The connection closed after an unterminated reply line: '{Encoding.UTF8.GetString(_buffer, _start, _end - _start)}'");
                }
                return null;
            }
        }
    }

    // Reads more bytes into the buffer; 0 when the server closed (or reset) the connection.
    private async Task<int> ReadSomeAsync()
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            throw Fail("A reply line is longer than 64 KiB.");
        }
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            int n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            _end += n;
            return n;
        }
        catch (OperationCanceledException)
        {
            throw Fail($"No data from the server within {Timeout}.");
        }
        catch (IOException)
        {
            return 0; // connection reset
        }
    }

    private void Record(string who, ReadOnlySpan<byte> bytes)
    {
        const int MaxShown = 400;
        var text = new StringBuilder();
        foreach (byte b in bytes[..Math.Min(bytes.Length, MaxShown)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n\n   ",
                < 0x20 or >= 0x7f => $"\\x{b:x2}",
                _ => ((char)b).ToString(),
            });
        }
        if (bytes.Length > MaxShown)
        {
            text.Append($"... ({bytes.Length} bytes in all)");
        }
        lock (_transcript)
        {
            if (_transcript.Length < MaxTranscriptChars)
            {
                _transcript.Append(who).Append(": ").Append(text.ToString().TrimEnd()).Append('\n');
            }
        }
    }
}
