using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The server's memory is bounded by its configuration, not by the size of the messages it carries: large messages
// injected at once and relayed to a loopback sink leave the server process's peak RSS (VmHWM) far below what the
// messages add up to. The old delivery path held every attempt's whole body (12 x 32 MiB in flight: +384 MiB), the
// old HTTP path several times every concurrent request's body. The messages are generated, hashed and checked piece
// by piece, so the test process does not hold them either.
public sealed class MemoryBoundTests(ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    // The spool's in-memory log ring (64 MiB, Mta:Spool's MemorySizeBits 26) fills up as the messages are written, and
    // the GC keeps some slack; both are part of the stated bound, not of the messages.
    private const long RingAndSlack = (64 * MiB) + (64 * MiB);

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(60) };

    [Fact]
    public async Task Relaying_twelve_32_MiB_messages_at_once_keeps_the_servers_peak_RSS_far_below_their_total_size()
    {
        // Per session and per attempt the README promises a few MiB (the session's input buffer and one spool chunk;
        // two spool entries per delivery attempt): 4 MiB per message in flight is generous.
        const int count = 12;
        await RunAsync(smtp: count, smtpBytes: (int)(32 * MiB), http: 0, httpBytes: 0, allowedGrowth: RingAndSlack + (count * 4 * MiB));
    }

    [Fact]
    public async Task Twelve_concurrent_8_MiB_injections_over_HTTP_cost_about_one_request_in_progress_not_twelve()
    {
        // One request in progress at a time (Mta:Http:MaxConcurrentInjections=1), about 4 x its body while it is
        // parsed; the others get 503 and come back after Retry-After. Allowed: four requests' worth (the garbage of the
        // previous ones may not be collected yet on a loaded machine: +203 MiB was seen once in CI). Without the limit
        // the twelve cost 12 x that at once (+593 MiB measured).
        const int count = 12;
        const long size = 8 * MiB;
        await RunAsync(smtp: 0, smtpBytes: 0, http: count, httpBytes: (int)size, allowedGrowth: RingAndSlack + (4 * 4 * size));
    }

    private async Task RunAsync(int smtp, int smtpBytes, int http, int httpBytes, long allowedGrowth)
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // VmHWM is read from /proc
        }

        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            Chunking = false, // DATA: the body is dot-stuffed on the way out (the lines starting with '.')
            KeepData = false,
            ReadTimeout = TimeSpan.FromSeconds(60),
        });
        await using ServerProcess server = await ServerProcess.StartAsync(
        [
            "Mta:Delivery:Enabled=true",
            $"Mta:Routes:*={sink.EndPoint}",
            "Mta:Http:MaxConcurrentInjections=1",
            "Mta:Limits:DataTimeout=00:02:00",
        ], output: output);
        // Warm-up: one small message each way, so that code loaded and compiled on first use is not counted.
        await SendOverBdatAsync(server, WarmUp, 64 * 1024);
        await PostAsync(server, WarmUp + 1, 64 * 1024);
        await sink.WaitForMessagesAsync(2, Wait);
        long baseline = ReadStatusKiB(server.ProcessId, "VmRSS") * 1024;

        Task<string>[] smtpTasks = [.. Enumerable.Range(0, smtp).Select(i => Task.Run(() => SendOverBdatAsync(server, i, smtpBytes)))];
        Task<int>[] httpTasks = [.. Enumerable.Range(0, http).Select(i => Task.Run(() => PostAsync(server, smtp + i, httpBytes)))];
        await Task.WhenAll(smtpTasks).WaitAsync(Wait);
        int[] attempts = await Task.WhenAll(httpTasks).WaitAsync(Wait);
        IReadOnlyList<SinkMessage> received = await sink.WaitForMessagesAsync(2 + smtp + http, Wait);
        long peak = ReadStatusKiB(server.ProcessId, "VmHWM") * 1024;

        // Every message arrived byte-identical after the Received header.
        for (int i = 0; i < smtp + http; i++)
        {
            string recipient = Recipient(i);
            SinkMessage message = Assert.Single(received, m => m.Recipients.Contains(recipient));
            Assert.Equal(Expected(i, i < smtp ? smtpBytes : httpBytes, message.Data), message.TailSha256);
        }

        long total = (smtp * (long)smtpBytes) + (http * (long)httpBytes);
        output.WriteLine($"server RSS after warm-up {baseline / MiB} MiB, peak {peak / MiB} MiB (+{(peak - baseline) / MiB} MiB, allowed "
            + $"{allowedGrowth / MiB} MiB) for {total / MiB} MiB of messages; HTTP attempts per message (503s retried): {string.Join(",", attempts)}");
        Assert.True(peak - baseline < allowedGrowth,
            $"the server's peak RSS grew by {(peak - baseline) / MiB} MiB (from {baseline / MiB} to {peak / MiB} MiB) relaying {total / MiB} MiB; allowed {allowedGrowth / MiB} MiB");
        Assert.True(http < 2 || attempts.Any(a => a > 1), "the concurrency limit was never reached"); // and its 503 was retried
    }

    private const int WarmUp = 1000;

    private static string Recipient(int i) => $"rcpt@d{i}.memory.test"; // one domain each: the deliveries run in parallel

    private static async Task<string> SendOverBdatAsync(ServerProcess server, int index, int size)
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        client.Timeout = TimeSpan.FromSeconds(60);
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<big@sender.test>", 250);
        await client.CommandAsync($"RCPT TO:<{Recipient(index)}>", 250);
        const int chunk = 1024 * 1024;
        byte[] buffer = new byte[chunk];
        var content = new Content(index, size);
        long sent = 0;
        while (sent < content.Length)
        {
            int n = content.Fill(sent, buffer);
            bool last = sent + n == content.Length;
            await client.WriteAsync(Encoding.ASCII.GetBytes($"BDAT {n}{(last ? " LAST" : "")}\r\n"));
            await client.WriteAsync(buffer.AsMemory(0, n));
            sent += n;
            await client.ExpectAsync(250);
        }

        return "sent";
    }

    // One raw-content injection; 503 (the concurrency limit) is retried after its Retry-After. Returns the attempts.
    private static async Task<int> PostAsync(ServerProcess server, int index, int size)
    {
        using var deadline = new CancellationTokenSource(Wait);
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{server.HttpPort}/api/v1/messages")
            {
                Content = new JsonInjection(Recipient(index), new Content(index, size)),
            };
            request.Headers.ExpectContinue = true; // a refused request is answered before its body is sent
            using HttpResponseMessage response = await Http.SendAsync(request, deadline.Token);
            string body = await response.Content.ReadAsStringAsync(deadline.Token);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return attempt;
            }

            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"HTTP {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            TimeSpan retryAfter = response.Headers.RetryAfter?.Delta ?? throw new Xunit.Sdk.XunitException("503 without Retry-After");
            await Task.Delay(retryAfter, deadline.Token);
        }
    }

    // The SHA-256 of what the sink should have received after its kept head: the Received header is the server's, the
    // rest is the generated content.
    private static byte[] Expected(int index, int size, byte[] head)
    {
        (string received, byte[] contentHead) = MessageContent.SplitReceived(head);
        var content = new Content(index, size);
        byte[] start = new byte[contentHead.Length];
        Assert.Equal(contentHead.Length, content.Fill(0, start));
        Assert.Equal(start, contentHead);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[1024 * 1024];
        for (long position = contentHead.Length; position < content.Length;)
        {
            int n = content.Fill(position, buffer);
            hash.AppendData(buffer, 0, n);
            position += n;
        }

        Assert.NotEmpty(received);
        return hash.GetHashAndReset();
    }

    private static long ReadStatusKiB(int pid, string field)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{pid}/status has no {field}");
    }

    /// <summary>
    /// A generated message: a header section, then 78-byte lines (every fifth starts with '.', for the dot-stuffing)
    /// up to about <c>size</c> bytes. ASCII without '"' or '\', so it goes into JSON with only CR and LF escaped.
    /// Any range can be produced again without the rest.
    /// </summary>
    private sealed class Content
    {
        private const int LineLength = 78;
        private readonly byte[] _header;
        private readonly int _seed;
        private byte[]? _period;

        public Content(int seed, int size)
        {
            _seed = seed;
            _header = Encoding.ASCII.GetBytes("Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
                + $"Message-ID: <big-{seed}@memory.test>\r\nFrom: big@sender.test\r\nTo: {Recipient(seed)}\r\n"
                + $"Subject: large message {seed}\r\n\r\n");
            Length = _header.Length + ((long)(size - _header.Length) / LineLength * LineLength);
        }

        public long Length { get; }

        public int Fill(long position, Span<byte> destination)
        {
            int n = (int)Math.Min(destination.Length, Length - position);
            Span<byte> rest = destination[..n];
            if (position < _header.Length)
            {
                int h = (int)Math.Min(rest.Length, _header.Length - position);
                _header.AsSpan((int)position, h).CopyTo(rest);
                rest = rest[h..];
                position += h;
            }

            // The lines repeat every 130 (letters every 26 lines, dots every 5th): copy from one period.
            _period ??= Period(_seed);
            while (!rest.IsEmpty)
            {
                int offset = (int)((position - _header.Length) % _period.Length);
                int c = Math.Min(rest.Length, _period.Length - offset);
                _period.AsSpan(offset, c).CopyTo(rest);
                rest = rest[c..];
                position += c;
            }

            return n;
        }

        private static byte[] Period(int seed)
        {
            byte[] period = new byte[130 * LineLength];
            for (int line = 0; line < 130; line++)
            {
                for (int column = 0; column < LineLength; column++)
                {
                    period[(line * LineLength) + column] = column switch
                    {
                        LineLength - 2 => (byte)'\r',
                        LineLength - 1 => (byte)'\n',
                        0 when line % 5 == 0 => (byte)'.',
                        _ => (byte)('a' + (((line * 31) + (column * 7) + seed) % 26)),
                    };
                }
            }

            return period;
        }
    }

    /// <summary>{"from", "recipients", "content"} written as the request goes out, never as one string.</summary>
    private sealed class JsonInjection : HttpContent
    {
        private readonly byte[] _prefix;
        private readonly byte[] _suffix = "\"}"u8.ToArray();
        private readonly Content _content;

        public JsonInjection(string recipient, Content content)
        {
            _content = content;
            _prefix = Encoding.ASCII.GetBytes($"{{\"from\":\"big@sender.test\",\"recipients\":[\"{recipient}\"],\"content\":\"");
            Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_prefix);
            byte[] raw = new byte[64 * 1024];
            byte[] escaped = new byte[2 * raw.Length];
            for (long position = 0; position < _content.Length;)
            {
                int n = _content.Fill(position, raw);
                int e = 0;
                foreach (byte b in raw.AsSpan(0, n))
                {
                    if (b is (byte)'\r' or (byte)'\n')
                    {
                        escaped[e++] = (byte)'\\';
                        escaped[e++] = b == (byte)'\r' ? (byte)'r' : (byte)'n';
                    }
                    else
                    {
                        escaped[e++] = b;
                    }
                }

                await stream.WriteAsync(escaped.AsMemory(0, e));
                position += n;
            }

            await stream.WriteAsync(_suffix);
        }

        protected override bool TryComputeLength(out long length)
        {
            // Every line end is CRLF: two bytes that become four.
            long lineEnds = 0;
            byte[] buffer = new byte[64 * 1024];
            for (long position = 0; position < _content.Length;)
            {
                int n = _content.Fill(position, buffer);
                lineEnds += buffer.AsSpan(0, n).Count((byte)'\n');
                position += n;
            }

            length = _prefix.Length + _content.Length + (2 * lineEnds) + _suffix.Length;
            return true;
        }
    }
}
