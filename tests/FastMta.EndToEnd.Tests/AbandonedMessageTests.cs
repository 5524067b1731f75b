using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// Messages that were never acknowledged — the client vanished, or the server refused them — must leave nothing in
// the spool, even when some of their body chunks already reached the log. A control message proves the spool was
// read and is not simply empty.
public sealed class AbandonedMessageTests(ITestOutputHelper output)
{
    private static async Task<(string Id, byte[] Content)> SendControlMessageAsync(ServerProcess server)
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync("control.example");
        byte[] content = MessageContent.Simple("control@x.example", "b@y.example", "control", "I was acknowledged.\r\n");
        string id = await client.SendMessageAsync("control@x.example", ["b@y.example"], content);
        return (id, content);
    }

    private static async Task<IReadOnlyList<SpoolEntry>> StopAndReadAsync(ServerProcess server, (string Id, byte[] Content) control)
    {
        await server.WaitForNoSessionsAsync(); // the server has seen every client go
        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == control.Id, "(the control message)", server);
        SpoolAssert.ContentEqual(control.Content, entry.Content, "control message", server);
        return spool;
    }

    private static byte[] LargeText(int size)
    {
        var text = new StringBuilder("Subject: abandoned\r\n\r\n");
        for (int line = 0; text.Length < size; line++)
        {
            text.Append($"line {line:D7} of a message whose client goes away before its end\r\n");
        }
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    [Fact]
    public async Task AClientThatDisconnectsInTheMiddleOfDataLeavesNothingInTheSpool()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var control = await SendControlMessageAsync(server);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<vanished-data@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            // 600 kB: more than two spool chunks are already in the log when the client goes away.
            await client.WriteAsync(LargeText(600_000));
        }
        IReadOnlyList<SpoolEntry> spool = await StopAndReadAsync(server, control);
        SpoolAssert.None(spool, e => e.Sender == "vanished-data@x.example", "from the client that vanished in DATA", server);
        Assert.Single(spool);
    }

    [Fact]
    public async Task AClientThatDisconnectsInTheMiddleOfBdatLeavesNothingInTheSpool()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        var control = await SendControlMessageAsync(server);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<vanished-bdat@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            byte[] first = LargeText(300_000);
            await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {first.Length}\r\n"), .. first]);
            await client.ExpectAsync(250, "2.0.0");
            await client.WriteAsync([.. "BDAT 1000000 LAST\r\n"u8, .. LargeText(400_000)]);
        }
        IReadOnlyList<SpoolEntry> spool = await StopAndReadAsync(server, control);
        SpoolAssert.None(spool, e => e.Sender == "vanished-bdat@x.example", "from the client that vanished in BDAT", server);
        Assert.Single(spool);
    }

    [Fact]
    public async Task MessagesRefusedForSizeOrForABareLineFeedAreNotSpooled()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Limits:MaxMessageBytes=10000"], output: output);
        var control = await SendControlMessageAsync(server);
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<too-big-data@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync(MessageContent.DotStuff(LargeText(30_000)));
            await client.ExpectAsync(552, "5.3.4");

            await client.CommandAsync("MAIL FROM:<too-big-bdat@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            byte[] big = LargeText(30_000);
            await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {big.Length} LAST\r\n"), .. big]);
            await client.ExpectAsync(552, "5.3.4");

            await client.CommandAsync("MAIL FROM:<bare-lf@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync("Subject: bare LF\r\n\r\nline one\nline two\r\n.\r\n");
            await client.ExpectAsync(554, "5.6.0");
            await client.CommandAsync("QUIT", 221, "2.0.0");
        }
        IReadOnlyList<SpoolEntry> spool = await StopAndReadAsync(server, control);
        SpoolAssert.None(spool, e => e.Sender != "control@x.example", "other than the control message", server);
    }
}
