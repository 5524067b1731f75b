using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace FastMta.Inbound.Tests;

/// <summary>The client's end of an in-memory SMTP connection: sends text, reads whole (multi-line) replies.</summary>
internal sealed class SmtpTestClient(IDuplexPipe pipe)
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(30);

    public async Task SendAsync(string text) => await pipe.Output.WriteAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends one command line and returns its reply.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync();
    }

    /// <summary>The next reply, all its lines (CRLF included); the last line is "NNN text".</summary>
    public async Task<string> ReadReplyAsync()
    {
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        var reply = new StringBuilder();
        while (true)
        {
            ReadResult result = await pipe.Input.ReadAsync(timeout.Token);
            ReadOnlySequence<byte> buffer = result.Buffer;
            while (TryReadLine(ref buffer, out string line))
            {
                reply.Append(line);
                if (line.Length >= 4 && line[3] == ' ')
                {
                    pipe.Input.AdvanceTo(buffer.Start);
                    return reply.ToString();
                }
            }
            pipe.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new InvalidOperationException($"The server closed the connection; read so far: '{reply}'");
            }
        }
    }

    /// <summary>EHLO, MAIL FROM and the recipients, each answered; returns the RCPT replies.</summary>
    public async Task<string[]> EnvelopeAsync(string sender, params string[] recipients)
    {
        Assert.StartsWith("250", await CommandAsync("EHLO client.inbound.test"));
        Assert.StartsWith("250", await CommandAsync($"MAIL FROM:<{sender}>"));
        var replies = new string[recipients.Length];
        for (int i = 0; i < recipients.Length; i++)
        {
            replies[i] = await CommandAsync($"RCPT TO:<{recipients[i]}>");
        }
        return replies;
    }

    /// <summary>DATA, the content (CRLF lines, no dot-stuffing needed by the callers) and the final dot; returns the
    /// reply to the content.</summary>
    public async Task<string> DataAsync(string content)
    {
        Assert.StartsWith("354", await CommandAsync("DATA"));
        await SendAsync(content + ".\r\n");
        return await ReadReplyAsync();
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out string line)
    {
        SequencePosition? lf = buffer.PositionOf((byte)'\n');
        if (lf is null)
        {
            line = "";
            return false;
        }
        SequencePosition end = buffer.GetPosition(1, lf.Value);
        line = Encoding.UTF8.GetString(buffer.Slice(0, end));
        buffer = buffer.Slice(end);
        return true;
    }
}
