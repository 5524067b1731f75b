using System.Text.RegularExpressions;
using FastMta.EndToEnd.Tests.Infrastructure;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using MimeKit.Utils;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// MailKit, the common .NET client: STARTTLS + AUTH, plain loopback relay, SMTPUTF8. What MailKit wrote on the wire
// (captured by its protocol logger) must be what the spool holds after the Received header, byte for byte.
public sealed partial class MailKitTests(ITestOutputHelper output)
{
    private const string Subject = "Grüße aus Zürich — ✉ 测试";
    private static readonly byte[] AttachmentBytes = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 7 % 256)).ToArray();

    private static MimeMessage BuildMessage(MailboxAddress from, MailboxAddress to, bool withAttachment)
    {
        var body = new BodyBuilder { TextBody = "Hallo,\r\n.eine Zeile mit Punkt am Anfang\r\nund Umlaute: äöü ß\r\n" };
        if (withAttachment)
        {
            body.Attachments.Add("daten.bin", AttachmentBytes, new ContentType("application", "octet-stream"));
        }
        var message = new MimeMessage([from], [to], Subject, body.ToMessageBody());
        message.MessageId = MimeUtils.GenerateMessageId("mailkit.test.example");
        return message;
    }

    private static SmtpClient NewClient(CapturingProtocolLogger log) => new(log)
    {
        ServerCertificateValidationCallback = static (_, _, _, _) => true, // the test server's certificate is self-signed
        LocalDomain = "mailkit.test.example",
        Timeout = 15_000,
    };

    private static string QueuedId(string response) =>
        QueuedAs().Match(response) is { Success: true } m ? m.Groups[1].Value
            : throw new Xunit.Sdk.XunitException($"MailKit's final response has no 'queued as' id: '{response}'");

    [GeneratedRegex("queued as ([0-9A-Z]{13})")]
    private static partial Regex QueuedAs();

    private static async Task<SpoolEntry> VerifyAsync(ServerProcess server, string id, CapturingProtocolLogger log)
    {
        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, $"with id {id}", server);
        SpoolAssert.ContentEqual(log.ExtractMessageContent(), entry.Content, "MailKit message", server);
        return entry;
    }

    [Fact]
    public async Task AMessageSentOverStartTlsWithAuthPlainIsSpooledExactlyWithItsUserAndProtocol()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(["Mta:Auth:Users:alice=secret"], output: output);
        MimeMessage message = BuildMessage(new MailboxAddress("Alice", "alice@sender.example"),
            new MailboxAddress("Bob", "bob@receiver.example"), withAttachment: true);
        var log = new CapturingProtocolLogger();
        string id;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        using (SmtpClient client = NewClient(log))
        {
            await client.ConnectAsync("127.0.0.1", server.SmtpPort, SecureSocketOptions.StartTls, cts.Token);
            Assert.True(client.IsSecure, "MailKit did not negotiate STARTTLS");
            Assert.Contains("PLAIN", client.AuthenticationMechanisms);
            await client.AuthenticateAsync(new SaslMechanismPlain("alice", "secret"), cts.Token);
            id = QueuedId(await client.SendAsync(message, cts.Token));
            await client.DisconnectAsync(quit: true, cts.Token);
        }

        SpoolEntry entry = await VerifyAsync(server, id, log);
        SpoolAssert.Envelope(entry, "alice@sender.example", ["bob@receiver.example"], "mailkit.test.example", "ESMTPSA", "alice", server);
        MimeMessage stored = MimeMessage.Load(new MemoryStream(entry.Content));
        Assert.Equal(Subject, stored.Subject);
        Assert.Equal(message.MessageId, stored.MessageId);
        Assert.Contains("äöü ß", stored.TextBody);
        MimePart attachment = Assert.Single(stored.Attachments.OfType<MimePart>());
        Assert.Equal("daten.bin", attachment.FileName);
        using var decoded = new MemoryStream();
        Assert.NotNull(attachment.Content);
        await attachment.Content.DecodeToAsync(decoded);
        Assert.Equal(AttachmentBytes, decoded.ToArray());
    }

    [Fact]
    public async Task AMessageSentWithoutTlsFromLoopbackIsRelayedWithoutAuth()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        MimeMessage message = BuildMessage(new MailboxAddress("App", "app@sender.example"),
            new MailboxAddress("Carol", "carol@receiver.example"), withAttachment: false);
        var log = new CapturingProtocolLogger();
        string id;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        using (SmtpClient client = NewClient(log))
        {
            await client.ConnectAsync("127.0.0.1", server.SmtpPort, SecureSocketOptions.None, cts.Token);
            Assert.False(client.IsSecure);
            Assert.Empty(client.AuthenticationMechanisms); // no users configured: AUTH not offered
            id = QueuedId(await client.SendAsync(message, cts.Token));
            await client.DisconnectAsync(quit: true, cts.Token);
        }

        SpoolEntry entry = await VerifyAsync(server, id, log);
        SpoolAssert.Envelope(entry, "app@sender.example", ["carol@receiver.example"], "mailkit.test.example", "ESMTP", null, server);
        Assert.Equal(Subject, MimeMessage.Load(new MemoryStream(entry.Content)).Subject);
    }

    [Fact]
    public async Task AMessageToANonAsciiAddressIsSentWithSmtpUtf8AndSpooledWithTheUtf8Addresses()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        const string sender = "josé@sender.example";
        const string recipient = "用户@例子.example";
        MimeMessage message = BuildMessage(new MailboxAddress("José", sender), new MailboxAddress("用户", recipient), withAttachment: false);
        var log = new CapturingProtocolLogger();
        string id;
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        using (SmtpClient client = NewClient(log))
        {
            await client.ConnectAsync("127.0.0.1", server.SmtpPort, SecureSocketOptions.None, cts.Token);
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.UTF8), "SMTPUTF8 not advertised");
            id = QueuedId(await client.SendAsync(message, cts.Token));
            await client.DisconnectAsync(quit: true, cts.Token);
        }
        Assert.Contains($"MAIL FROM:<{sender}>", log.ClientText);
        Assert.Matches(@"MAIL FROM:<[^>]+>[^\r]* SMTPUTF8", log.ClientText);

        SpoolEntry entry = await VerifyAsync(server, id, log);
        SpoolAssert.Envelope(entry, sender, [recipient], "mailkit.test.example", "ESMTP", null, server);
        Assert.Contains("SMTPUTF8", entry.SenderParameters, StringComparison.OrdinalIgnoreCase);
        MimeMessage stored = MimeMessage.Load(new MemoryStream(entry.Content));
        Assert.Equal(recipient, Assert.Single(stored.To.Mailboxes).Address);
    }
}
