using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// TCP delivers bytes in whatever pieces it likes: commands, dot-stuffing and the terminator split across packets,
// and bodies that end around the spool's 256 KiB chunk boundary, must all come out the same.
public sealed class SegmentationTests(ITestOutputHelper output)
{
    // Writes each piece separately, pausing so that each arrives in its own read on the server.
    private static async Task WritePiecesAsync(RawSmtpClient client, IEnumerable<byte[]> pieces)
    {
        foreach (byte[] piece in pieces)
        {
            await client.WriteAsync(piece);
            await Task.Delay(15);
        }
    }

    private static IEnumerable<byte[]> Split(byte[] bytes, int size)
    {
        for (int i = 0; i < bytes.Length; i += size)
        {
            yield return bytes[i..Math.Min(bytes.Length, i + size)];
        }
    }

    [Fact]
    public async Task CommandsDotStuffingAndTheTerminatorSplitAcrossPacketsAreDecodedExactly()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        byte[] content = Encoding.UTF8.GetBytes(
            "Subject: split\r\n\r\n.dot first\r\nmiddle\r\n..two dots\r\n.\r\n.\r\nend with ü\r\n");
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await WritePiecesAsync(client, Split("EHLO split.client.example\r\n"u8.ToArray(), 3));
            await client.ExpectAsync(250);
            await WritePiecesAsync(client, ["MAIL FROM:<split@x.example>\r"u8.ToArray(), "\nRCPT TO:<b@y"u8.ToArray(), ".example>\r\nDA"u8.ToArray(), "TA\r\n"u8.ToArray()]);
            await client.ExpectAsync(250, "2.1.0");
            await client.ExpectAsync(250, "2.1.5");
            await client.ExpectAsync(354);
            await WritePiecesAsync(client, Split(MessageContent.DotStuff(content), 1)); // one byte per packet
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
            await WritePiecesAsync(client, ["NO"u8.ToArray(), "OP\r"u8.ToArray(), "\n"u8.ToArray()]);
            await client.ExpectAsync(250, "2.0.0");
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "split@x.example", ["b@y.example"], "split.client.example", "ESMTP", null, server);
        SpoolAssert.ContentEqual(content, entry.Content, "byte-by-byte DATA", server);
    }

    [Fact]
    public async Task BodiesEndingAroundTheSpoolChunkBoundaryAreStoredExactly()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        const int Chunk = 256 * 1024;
        var sent = new List<(string Id, byte[] Content)>();
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync("boundary.client.example");
            // The stored body is the ~130-byte Received header plus the content: these sizes put its end on, just
            // before and just after one and two chunk boundaries.
            int n = 0;
            foreach (int baseSize in (int[])[Chunk, 2 * Chunk])
            {
                for (int size = baseSize - 180; size <= baseSize - 80; size += 4, n++)
                {
                    var text = new StringBuilder($"Subject: {size}\r\n\r\n");
                    while (text.Length < size - 2)
                    {
                        text.Append((char)('a' + text.Length % 26));
                        if (text.Length % 100 == 98)
                        {
                            text.Append("\r\n");
                        }
                    }
                    while (text.Length < size - 2)
                    {
                        text.Append('z');
                    }
                    text.Append("\r\n");
                    byte[] content = Encoding.ASCII.GetBytes(text.ToString());
                    if (n % 2 == 0)
                    {
                        sent.Add((await client.SendMessageAsync("boundary@x.example", ["b@y.example"], content), content));
                    }
                    else
                    {
                        await client.CommandAsync("MAIL FROM:<boundary@x.example>", 250, "2.1.0");
                        await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
                        await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {content.Length} LAST\r\n"), .. content]);
                        sent.Add(((await client.ExpectAsync(250, "2.0.0")).QueuedId, content));
                    }
                }
            }
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        Assert.Equal(sent.Count, spool.Count);
        foreach (var (id, content) in sent)
        {
            SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
            SpoolAssert.ContentEqual(content, entry.Content, $"{content.Length}-byte message", server);
        }
    }
}
