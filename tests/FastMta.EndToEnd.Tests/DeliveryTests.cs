using System.Text;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// The relay end to end over static routes (Mta:Routes): mail sent to one FastMta process arrives at a real receiving
// server on loopback, retried after 4xx, bounced after 5xx, over reused connections.
public sealed class DeliveryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    // Lines beginning with '.', 8-bit text, a 998-octet line, a line of dots, CRLF everywhere.
    private static byte[] TrickyContent(string subject)
    {
        var text = new StringBuilder();
        text.Append("From: alice@sender.test\r\nTo: bob@dest.test\r\nSubject: ").Append(subject)
            .Append("\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        text.Append(".leading dot\r\n..two dots\r\n.\r\n...\r\nGrüße aus Köln — ünïcödé\r\n");
        text.Append(new string('x', 998)).Append("\r\n");
        text.Append(" .space then dot\r\nlast line\r\n");
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static async Task<string> SendAsync(ServerProcess server, string sender, string[] recipients, byte[] content, string mailParameters = "")
    {
        await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
        await client.EhloAsync();
        await client.CommandAsync($"MAIL FROM:<{sender}>{mailParameters}", 250, "2.1.0");
        foreach (string recipient in recipients)
        {
            await client.CommandAsync($"RCPT TO:<{recipient}>", 250, "2.1.5");
        }

        await client.CommandAsync("DATA", 354);
        await client.WriteAsync(MessageContent.DotStuff(content));
        return (await client.ExpectAsync(250, "2.0.0")).QueuedId;
    }

    private Task<ServerProcess> StartRelayAsync(params string[] settings) =>
        ServerProcess.StartAsync(["Mta:Delivery:Enabled=true", "Mta:Queue:RetrySchedule=00:00:01", .. settings], output: output);

    [Fact]
    public async Task A_message_arrives_at_the_sink_byte_identical_apart_from_the_Received_header_over_DATA()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Chunking = false });
        await using ServerProcess relay = await StartRelayAsync($"Mta:Routes:*={sink.EndPoint}");
        byte[] content = TrickyContent("over DATA");

        string id = await SendAsync(relay, "alice@sender.test", ["bob@dest.test"], content, " BODY=8BITMIME");

        SinkMessage received = (await sink.WaitForMessagesAsync(1, Wait)).Single();
        Assert.Equal("alice@sender.test", received.Sender);
        Assert.Equal(["bob@dest.test"], received.Recipients);
        Assert.False(received.ViaBdat);
        Assert.Contains("BODY=8BITMIME", received.MailParameters, StringComparison.OrdinalIgnoreCase);
        (string header, byte[] rest) = MessageContent.SplitReceived(received.Data);
        Assert.Contains($"id {id}", header);
        Assert.Equal(content, rest);

        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(relay, e => e.Any(x => x.Type == "Delivery"), "the delivery is logged");
        LoggedEvent delivery = log.Single(e => e.Type == "Delivery");
        Assert.Equal((id, "bob@dest.test", "dest.test", 250, 1), (delivery.MessageId, delivery.Recipient, delivery.Domain, delivery.ReplyCode, delivery.Attempt));
        Assert.Equal(sink.EndPoint.ToString(), delivery.RemoteAddress);
        Assert.Single(log, e => e.Type == "Reception" && e.MessageId == id);
    }

    [Fact]
    public async Task A_message_relayed_to_a_second_FastMta_over_STARTTLS_and_BDAT_is_stored_byte_identical()
    {
        await using ServerProcess receiver = await ServerProcess.StartAsync(output: output); // delivery off: it keeps what it gets
        await using ServerProcess relay = await StartRelayAsync($"Mta:Routes:*=127.0.0.1:{receiver.SmtpPort}");
        byte[] content = TrickyContent("over BDAT");

        await SendAsync(relay, "alice@sender.test", ["bob@dest.test"], content, " BODY=8BITMIME");
        await DeliveryLogReader.WaitAsync(relay, e => e.Any(x => x.Type == "Delivery"), "the relay delivers to the receiver");
        await receiver.StopGracefullyAsync();

        SpoolEntry stored = Assert.Single(await SpoolInspector.ReadAllAsync(receiver.SpoolPath));
        Assert.Equal("alice@sender.test", stored.Sender);
        Assert.Equal("ESMTPS", stored.Protocol); // the receiver offered STARTTLS, so the relay used it (opportunistic TLS)
        byte[] relayed = stored.Content; // minus the receiver's Received header
        (string relayHeader, byte[] original) = MessageContent.SplitReceived(relayed);
        Assert.Contains("(FastMta)", relayHeader);
        Assert.Equal(content, original);
    }

    [Fact]
    public async Task A_451_is_retried_and_delivered_once()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions
        {
            RcptReply = r => r.PreviousAttempts == 0 ? "451 4.2.1 greylisted, try again" : null,
        });
        await using ServerProcess relay = await StartRelayAsync($"Mta:Routes:*={sink.EndPoint}");

        string id = await SendAsync(relay, "alice@sender.test", ["bob@dest.test"], MessageContent.Simple("alice@sender.test", "bob@dest.test", "greylisted", "hello\r\n"));

        Assert.Single(await sink.WaitForMessagesAsync(1, Wait));
        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(relay, e => e.Any(x => x.Type == "Delivery"), "the retry is logged");
        LoggedEvent transient = log.Single(e => e.Type == "TransientFailure");
        Assert.Equal((id, 451, "4.2.1", 1), (transient.MessageId, transient.ReplyCode, transient.EnhancedStatus, transient.Attempt));
        Assert.Contains("greylisted", transient.Response);
        Assert.Equal(2, log.Single(e => e.Type == "Delivery").Attempt);
        await Task.Delay(1500); // longer than the retry interval: nothing more happens
        Assert.Single(sink.Messages);
    }

    [Fact]
    public async Task A_550_is_not_retried_and_a_DSN_reaches_the_senders_domain()
    {
        await using var refusing = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { RcptReply = _ => "550 5.1.1 <bob@dest.test>: no such user" });
        await using var senderDomain = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync($"Mta:Routes:dest.test={refusing.EndPoint}", $"Mta:Routes:sender.test={senderDomain.EndPoint}");

        string id = await SendAsync(relay, "alice@sender.test", ["bob@dest.test"],
            MessageContent.Simple("alice@sender.test", "bob@dest.test", "to be bounced", "hello\r\n", "<original-1@sender.test>"));

        SinkMessage dsn = (await senderDomain.WaitForMessagesAsync(1, Wait)).Single();
        Assert.Equal("", dsn.Sender);
        Assert.Equal(["alice@sender.test"], dsn.Recipients);
        string text = Encoding.UTF8.GetString(dsn.Data);
        MimeKit.MimeMessage parsed = MimeKit.MimeMessage.Load(new MemoryStream(dsn.Data));
        Assert.Equal("multipart/report", parsed.Body!.ContentType.MimeType);
        Assert.Equal("delivery-status", parsed.Body!.ContentType.Parameters["report-type"]);
        Assert.Contains("Reporting-MTA: dns; " + ServerProcess.Hostname, text);
        Assert.Contains("Final-Recipient: rfc822; bob@dest.test", text);
        Assert.Contains("Action: failed", text);
        Assert.Contains("Status: 5.1.1", text);
        Assert.Contains("no such user", text);
        Assert.Contains("Message-ID: <original-1@sender.test>", text, StringComparison.OrdinalIgnoreCase); // the original's header section
        Assert.DoesNotContain("hello", text.Split("message/rfc822-headers")[^1]); // never the original body

        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(relay, e => e.Count(x => x.Type == "Delivery") == 1, "the DSN is delivered");
        Assert.Single(log, e => e.Type == "Bounce" && e.MessageId == id && e.ReplyCode == 550);
        await Task.Delay(1500); // longer than the retry interval
        Assert.Single(refusing.Commands, c => c.Line.StartsWith("RCPT", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Many_messages_to_one_destination_share_a_few_connections()
    {
        const int Count = 40;
        await using var sink = new LoopbackSmtpSink();
        await using ServerProcess relay = await StartRelayAsync($"Mta:Routes:*={sink.EndPoint}", "Mta:Delivery:MaxConnectionsPerDestination=2");

        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            for (int i = 0; i < Count; i++)
            {
                await client.SendMessageAsync("alice@sender.test", [$"r{i}@dest.test"], MessageContent.Simple("alice@sender.test", $"r{i}@dest.test", $"reuse {i}", "hello\r\n"));
            }
        }

        await sink.WaitForMessagesAsync(Count, Wait);
        Assert.InRange(sink.ConnectionCount, 1, 2);
        Assert.Equal(Count, sink.Messages.SelectMany(m => m.Recipients).Distinct().Count());
    }

    [Fact]
    public async Task With_TLS_required_a_receiver_without_STARTTLS_gets_nothing_and_the_recipient_is_deferred()
    {
        await using var sink = new LoopbackSmtpSink(); // offers no STARTTLS
        await using ServerProcess relay = await StartRelayAsync($"Mta:Routes:*={sink.EndPoint}", "Mta:Delivery:Tls=Required");

        string id = await SendAsync(relay, "alice@sender.test", ["bob@dest.test"], MessageContent.Simple("alice@sender.test", "bob@dest.test", "secret", "hello\r\n"));

        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(relay, e => e.Any(x => x.Type == "TransientFailure"), "the attempt is deferred");
        LoggedEvent deferred = log.First(e => e.Type == "TransientFailure");
        Assert.Equal(id, deferred.MessageId);
        Assert.StartsWith("4.", deferred.EnhancedStatus);
        Assert.Empty(sink.Messages);
        Assert.DoesNotContain(sink.Commands, c => c.Line.StartsWith("MAIL", StringComparison.OrdinalIgnoreCase));
    }
}
