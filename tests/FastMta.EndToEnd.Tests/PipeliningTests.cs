using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// RFC 2920: a client sends a whole group in one write; the replies come back complete and in order.
public sealed class PipeliningTests(ITestOutputHelper output)
{
    [Fact]
    public async Task APipelinedTransactionGetsItsRepliesInOrderAndTheBodyIsStoredDotUnstuffed()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        string id;
        byte[] content = Encoding.UTF8.GetBytes(
            "From: <a@x.example>\r\nTo: <b@y.example>\r\nSubject: pipelined\r\n\r\n" +
            ".leading dot\r\n..two leading dots\r\n.\r\nnot the end: a lone dot above\r\n. space after dot\r\nlast line\r\n");
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync("pipe.client.example");
            await client.WriteAsync("MAIL FROM:<a@x.example>\r\nRCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\n");
            await client.ExpectAsync(250, "2.1.0");
            await client.ExpectAsync(250, "2.1.5");
            await client.ExpectAsync(250, "2.1.5");
            await client.ExpectAsync(354);
            byte[] stuffed = MessageContent.DotStuff(content);
            Assert.Contains("\r\n..leading dot\r\n", Encoding.UTF8.GetString(stuffed));
            await client.WriteAsync([.. stuffed, .. "QUIT\r\n"u8]);
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
            await client.ExpectAsync(221, "2.0.0");
            await client.ExpectClosedAsync();
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.Envelope(entry, "a@x.example", ["b@y.example", "c@y.example"], "pipe.client.example", "ESMTP", null, server);
        SpoolAssert.ContentEqual(content, entry.Content, "pipelined DATA", server);
    }

    [Fact]
    public async Task ARefusedCommandInsideAPipelinedGroupGetsItsOwnReplyInItsPlace()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.WriteAsync("MAIL FROM:<a@x.example>\r\nRCPT TO:<b@@y.example>\r\nRCPT TO:<c@y.example>\r\nBOGUS\r\nDATA\r\n");
        await client.ExpectAsync(250, "2.1.0");
        await client.ExpectAsync(501, "5.1.3");
        await client.ExpectAsync(250, "2.1.5");
        await client.ExpectAsync(500, "5.5.1");
        await client.ExpectAsync(354);
        await client.WriteAsync(MessageContent.DotStuff(MessageContent.Simple("a@x.example", "c@y.example", "partial", "Hi.\r\n")));
        await client.ExpectAsync(250, "2.0.0");
    }

    [Fact]
    public async Task ManyTransactionsPipelinedBehindOneAnotherAreAllAnsweredInOrder()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var ids = new List<string>();
        var contents = new List<byte[]>();
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            // After each 354 the client sends the body, the terminator and the next group in a single write.
            await client.WriteAsync("MAIL FROM:<s0@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n");
            for (int i = 0; i < 10; i++)
            {
                await client.ExpectAsync(250, "2.1.0");
                await client.ExpectAsync(250, "2.1.5");
                await client.ExpectAsync(354);
                byte[] content = MessageContent.Simple($"s{i}@x.example", "b@y.example", $"message {i}", $"Body {i}\r\n.dot {i}\r\n");
                contents.Add(content);
                string next = i < 9 ? $"MAIL FROM:<s{i + 1}@x.example>\r\nRCPT TO:<b@y.example>\r\nDATA\r\n" : "QUIT\r\n";
                // The next group follows the terminator in the same packet: MAIL may be pipelined after DATA's end.
                await client.WriteAsync([.. MessageContent.DotStuff(content), .. Encoding.ASCII.GetBytes(next)]);
                ids.Add((await client.ExpectAsync(250, "2.0.0")).QueuedId);
            }
            await client.ExpectAsync(221, "2.0.0");
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        Assert.Equal(10, ids.Distinct().Count());
        for (int i = 0; i < 10; i++)
        {
            SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == ids[i], $"with id {ids[i]}", server);
            Assert.Equal($"s{i}@x.example", entry.Sender);
            SpoolAssert.ContentEqual(contents[i], entry.Content, $"message {i}", server);
        }
    }
}
