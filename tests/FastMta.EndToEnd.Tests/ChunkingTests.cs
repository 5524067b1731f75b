using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// RFC 3030 CHUNKING: BDAT chunks are exact octet counts, never scanned for a terminator or for commands.
public sealed class ChunkingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TwoChunksAndAnEmptyLastChunkAreStoredAsOneMessage()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        byte[] first = Encoding.ASCII.GetBytes("Subject: chunks\r\n\r\n"); // 19 bytes
        first = [.. first, (byte)'A'];                                   // 20
        byte[] second = Encoding.ASCII.GetBytes("BCDEFGHIJKLMNOPQR\r\n"); // 19
        second = [.. second, (byte)'.'];                                  // 20: ends with a dot, which is just a byte
        Assert.Equal(20, first.Length);
        Assert.Equal(20, second.Length);
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync("bdat.client.example");
            await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.WriteAsync([.. "BDAT 20\r\n"u8, .. first]);
            SmtpReply r1 = await client.ExpectAsync(250, "2.0.0");
            Assert.Equal("250 2.0.0 Ok: octets received 20", r1.Lines[^1]);
            await client.WriteAsync([.. "BDAT 20\r\n"u8, .. second]);
            SmtpReply r2 = await client.ExpectAsync(250, "2.0.0");
            Assert.Equal("250 2.0.0 Ok: octets received 40", r2.Lines[^1]);
            id = (await client.CommandAsync("BDAT 0 LAST", 250, "2.0.0")).QueuedId;
            await client.CommandAsync("QUIT", 221);
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "a@x.example", ["b@y.example"], "bdat.client.example", "ESMTP", null, server);
        SpoolAssert.ContentEqual([.. first, .. second], entry.Content, "BDAT 20 + 20 + 0 LAST", server);
    }

    [Fact]
    public async Task ALastChunkWithNulAnd8BitBytesAndAnEmbeddedTerminatorIsStoredVerbatim()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var chunk = new List<byte>(Encoding.ASCII.GetBytes("Subject: binary\r\nContent-Type: application/octet-stream\r\n\r\n"));
        chunk.AddRange("line\r\n.\r\nQUIT\r\nRSET\r\n..\r\n"u8.ToArray()); // looks like a terminator and commands
        for (int i = 0; i < 256; i++)
        {
            if (i is not ('\r' or '\n'))
            {
                chunk.Add((byte)i); // NUL, control and 8-bit bytes (a bare CR or LF is refused: BareLineEndTests)
            }
        }
        chunk.AddRange("\r\n.\r\n..\r\n"u8.ToArray());
        byte[] content = [.. chunk];
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync("bdat.client.example");
            // The whole transaction in one write: PIPELINING with CHUNKING.
            await client.WriteAsync([.. Encoding.ASCII.GetBytes(
                $"MAIL FROM:<bin@x.example> BODY=8BITMIME\r\nRCPT TO:<b@y.example>\r\nBDAT {content.Length} LAST\r\n"), .. content]);
            await client.ExpectAsync(250, "2.1.0");
            await client.ExpectAsync(250, "2.1.5");
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
            await client.CommandAsync("NOOP", 250, "2.0.0");
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "bin@x.example", ["b@y.example"], "bdat.client.example", "ESMTP", null, server);
        SpoolAssert.ContentEqual(content, entry.Content, "binary BDAT LAST chunk", server);
    }

    [Fact]
    public async Task AMessageLargerThanASpoolChunkSentInManyBdatChunksIsStoredExactly()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var random = new Random(3030);
        byte[] content = new byte[700_000]; // spans several 256 KiB spool chunks
        random.NextBytes(content);
        for (int i = 0; i < content.Length; i++)
        {
            // Random octets in lines of 100 (CR and LF only as CRLF), and one CRLF split by the second chunk boundary.
            content[i] = i % 100 == 98 || i == 65_535 ? (byte)'\r' : i % 100 == 99 || i == 65_536 ? (byte)'\n'
                : content[i] is (byte)'\r' or (byte)'\n' ? (byte)'x' : content[i];
        }
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync("bdat.client.example");
            await client.CommandAsync("MAIL FROM:<large@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            int offset = 0;
            foreach (int size in (int[])[1, 65_535, 300_000, 200_000])
            {
                await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {size}\r\n"), .. content.AsSpan(offset, size)]);
                offset += size;
                Assert.Equal($"250 2.0.0 Ok: octets received {offset}", (await client.ExpectAsync(250, "2.0.0")).Lines[^1]);
            }
            int rest = content.Length - offset;
            await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {rest} LAST\r\n"), .. content.AsSpan(offset, rest)]);
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.ContentEqual(content, entry.Content, "700 kB in five BDAT chunks", server);
    }

    [Fact]
    public async Task RsetAfterABdatChunkDiscardsItAndTheNextTransactionStartsClean()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        byte[] content = "Subject: second\r\n\r\nonly this\r\n"u8.ToArray();
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync("bdat.client.example");
            await client.CommandAsync("MAIL FROM:<dropped@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            byte[] big = new byte[300_000]; // more than a spool chunk: part of it is already in the log
            Array.Fill(big, (byte)'x');
            await client.WriteAsync([.. "BDAT 300000\r\n"u8, .. big]);
            await client.ExpectAsync(250, "2.0.0");
            await client.CommandAsync("DATA", 503, "5.5.1"); // DATA cannot follow BDAT in one transaction
            await client.CommandAsync("RSET", 250, "2.0.0");

            await client.CommandAsync("MAIL FROM:<kept@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<c@y.example>", 250, "2.1.5");
            await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {content.Length} LAST\r\n"), .. content]);
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "kept@x.example", ["c@y.example"], "bdat.client.example", "ESMTP", null, server);
        SpoolAssert.ContentEqual(content, entry.Content, "BDAT after RSET", server);
        SpoolAssert.None(spool, e => e.Sender == "dropped@x.example", "from the reset transaction", server);
    }
}
