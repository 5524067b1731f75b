using System.Buffers;
using System.Text;
using MimeKit;

namespace FastMta.Queue.Tests.Bounces;

public class DsnBuilderTests
{
    private const string Original =
        "Received: from client.example.org by mx.example.net\r\n" +
        "From: Alice <alice@example.org>\r\n" +
        "To: bob@example.com\r\n" +
        "Subject: Quarterly figures\r\n" +
        "Message-ID: <orig-1@example.org>\r\n" +
        "\r\n" +
        "SECRET BODY LINE that must never come back\r\n";

    private static readonly DateTimeOffset Arrival = new(2025, 3, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Attempt = new(2025, 3, 1, 10, 5, 0, TimeSpan.Zero);

    private static DsnRecipient Bob(DsnAction action = DsnAction.Failed) => new()
    {
        FinalRecipient = "bob@example.com",
        Action = action,
        Status = action == DsnAction.Failed ? "5.1.1" : "4.2.2",
        Diagnostic = action == DsnAction.Failed ? "550 5.1.1 <bob@example.com>: no such user" : "452 4.2.2 mailbox full",
        RemoteMta = "mx1.example.com",
        LastAttemptDate = Attempt,
    };

    private static DsnRequest Request(string original = Original, params DsnRecipient[] recipients) =>
        Make(original, envelopeId: null, recipients.Length == 0 ? [Bob()] : recipients);

    private static DsnRequest Make(string original, string? envelopeId, IReadOnlyList<DsnRecipient> recipients, string sender = "alice@example.org") => new()
    {
        ReportingMta = "mta.example.net",
        OriginalSender = sender,
        OriginalMessageId = "0000019A2B3C4D5E",
        OriginalEnvelopeId = envelopeId,
        ArrivalDate = Arrival,
        Date = Attempt.AddMinutes(1),
        Recipients = recipients,
        OriginalMessage = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(original)),
    };

    private static MimeMessage Parse(byte[] dsn) => MimeMessage.Load(new MemoryStream(dsn));

    private static MultipartReport Report(byte[] dsn) => Assert.IsType<MultipartReport>(Parse(dsn).Body);
    private static HeaderListCollection Groups(MultipartReport report) => Assert.IsType<MessageDeliveryStatus>(report[1]).StatusGroups;
    private static string Explanation(MultipartReport report) => Assert.IsType<TextPart>(report[0]).Text;

    /// <summary>The returned header section as the receiver gets it after transfer decoding.</summary>
    private static string ReturnedHeaders(byte[] dsn)
    {
        var report = Report(dsn);
        Assert.Equal("text/rfc822-headers", report[2].ContentType.MimeType);
        if (report[2] is MimePart encoded)
        {
            return ReadContent(encoded);
        }

        // MimeKit parses a 7bit text/rfc822-headers part into a message; take its bytes from the wire instead.
        var raw = Encoding.ASCII.GetString(dsn);
        var partStart = raw.IndexOf("Content-Type: text/rfc822-headers", StringComparison.Ordinal);
        var start = raw.IndexOf("\r\n\r\n", partStart, StringComparison.Ordinal) + 4;
        var end = raw.IndexOf("\r\n--" + report.Boundary, start, StringComparison.Ordinal);
        return raw[start..end];
    }

    private static string ReadContent(MimePart part)
    {
        using var decoded = new MemoryStream();
        var content = part.Content;
        Assert.NotNull(content);
        content.DecodeTo(decoded);
        return Encoding.UTF8.GetString(decoded.ToArray());
    }

    [Fact]
    public void DsnIsAMultipartReportWithExplanationStatusAndHeaders()
    {
        var dsn = Parse(DsnBuilder.Build(Request()));

        Assert.Equal("Mail Delivery System", dsn.From.Mailboxes.Single().Name);
        Assert.Equal("MAILER-DAEMON@mta.example.net", dsn.From.Mailboxes.Single().Address);
        Assert.Equal("alice@example.org", dsn.To.Mailboxes.Single().Address);
        Assert.Equal(DsnBuilder.FailedSubject, dsn.Subject);
        Assert.Equal(Attempt.AddMinutes(1), dsn.Date);
        Assert.EndsWith("@mta.example.net", dsn.MessageId, StringComparison.Ordinal);
        Assert.Equal("auto-replied", dsn.Headers["Auto-Submitted"]);
        Assert.Equal("1.0", dsn.Headers[HeaderId.MimeVersion]);

        var report = Assert.IsType<MultipartReport>(dsn.Body);
        Assert.Equal("delivery-status", report.ReportType);
        Assert.Equal(3, report.Count);
        var text = Assert.IsType<TextPart>(report[0]);
        Assert.True(text.IsPlain);
        Assert.Contains("<bob@example.com>: host mx1.example.com said: 550 5.1.1", text.Text, StringComparison.Ordinal);
        Assert.Contains("0000019A2B3C4D5E", text.Text, StringComparison.Ordinal);
        Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal("text/rfc822-headers", report[2].ContentType.MimeType);
    }

    [Fact]
    public void DeliveryStatusHasPerMessageAndPerRecipientFields()
    {
        var carol = new DsnRecipient
        {
            FinalRecipient = "carol@example.com",
            OriginalRecipient = "rfc822; carol@alias.example.com",
            Action = DsnAction.Failed,
            Status = "5.4.4",
            Diagnostic = "Host or domain name not found",
            DiagnosticType = "X-FastMta",
            LastAttemptDate = Attempt,
        };
        var report = Report(DsnBuilder.Build(Make(Original, "env-42", [Bob(), carol])));

        var groups = Groups(report);
        Assert.Equal(3, groups.Count);
        Assert.Equal("dns; mta.example.net", groups[0]["Reporting-MTA"]);
        Assert.Equal("env-42", groups[0]["Original-Envelope-Id"]);
        Assert.Equal("0000019A2B3C4D5E", groups[0]["X-FastMta-Queue-ID"]);
        Assert.Equal(Arrival, ParseDate(groups[0]["Arrival-Date"]));

        Assert.Equal("rfc822; bob@example.com", groups[1]["Final-Recipient"]);
        Assert.Equal("failed", groups[1]["Action"]);
        Assert.Equal("5.1.1", groups[1]["Status"]);
        Assert.Equal("dns; mx1.example.com", groups[1]["Remote-MTA"]);
        Assert.Equal("smtp; 550 5.1.1 <bob@example.com>: no such user", groups[1]["Diagnostic-Code"]);
        Assert.Equal(Attempt, ParseDate(groups[1]["Last-Attempt-Date"]));
        Assert.Null(groups[1]["Original-Recipient"]);

        Assert.Equal("rfc822; carol@alias.example.com", groups[2]["Original-Recipient"]);
        Assert.Equal("rfc822; carol@example.com", groups[2]["Final-Recipient"]);
        Assert.Equal("5.4.4", groups[2]["Status"]);
        Assert.Null(groups[2]["Remote-MTA"]);
        Assert.Equal("X-FastMta; Host or domain name not found", groups[2]["Diagnostic-Code"]);
    }

    [Fact]
    public void OriginalHeadersComeBackButNeverTheBody()
    {
        var bytes = DsnBuilder.Build(Request());
        var raw = Encoding.ASCII.GetString(bytes);
        Assert.DoesNotContain("SECRET BODY LINE", raw, StringComparison.Ordinal);

        var returned = ReturnedHeaders(bytes);
        var parsed = Assert.IsType<TextRfc822Headers>(Report(bytes)[2]).Message;
        Assert.NotNull(parsed);
        Assert.Equal("Quarterly figures", parsed.Subject);
        Assert.Equal(Original[..Original.IndexOf("\r\n\r\n", StringComparison.Ordinal)] + "\r\n", returned);
        Assert.Contains("Subject: Quarterly figures\r\n", returned, StringComparison.Ordinal);
    }

    [Fact]
    public void OutputIsSevenBitWithCrlfLineEndsOnly()
    {
        var utf8Recipient = new DsnRecipient
        {
            FinalRecipient = "jörg@bücher.example",
            Action = DsnAction.Failed,
            Status = "5.1.1",
            Diagnostic = "550 5.1.1 Empfänger unbekannt",
            RemoteMta = "mx1.example.com",
            LastAttemptDate = Attempt,
        };
        var bytes = DsnBuilder.Build(Request(Original.Replace("Quarterly", "Größe", StringComparison.Ordinal), utf8Recipient));

        Assert.All(bytes, x => Assert.True(x < 0x80, $"8-bit byte 0x{x:X2}"));
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n')
            {
                Assert.True(i > 0 && bytes[i - 1] == '\r', $"bare LF at {i}");
            }
            else if (bytes[i] == '\r')
            {
                Assert.True(i + 1 < bytes.Length && bytes[i + 1] == '\n', $"bare CR at {i}");
            }
        }

        Assert.EndsWith("\r\n", Encoding.ASCII.GetString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void NonAsciiRecipientUsesTheUtf8AddressType()
    {
        var recipient = new DsnRecipient
        {
            FinalRecipient = "jörg+x@bücher.example",
            Action = DsnAction.Failed,
            Status = "5.1.1",
            Diagnostic = "550 5.1.1 Empfänger unbekannt",
            LastAttemptDate = Attempt,
        };
        var report = Report(DsnBuilder.Build(Request(Original, recipient)));
        var block = Groups(report)[1];
        // RFC 6533 utf-8-addr-xtext: non-ASCII and '+' as \x{HEX}.
        Assert.Equal(@"utf-8; j\x{F6}rg\x{2B}x@b\x{FC}cher.example", block["Final-Recipient"]);
        Assert.Equal("smtp; 550 5.1.1 Empf?nger unbekannt", block["Diagnostic-Code"]);
        // The human-readable part keeps the real characters (quoted-printable on the wire).
        var text = Explanation(report);
        Assert.Contains("<jörg+x@bücher.example>: 550 5.1.1 Empfänger unbekannt", text, StringComparison.Ordinal);
    }

    [Fact]
    public void EightBitOriginalHeadersAreQuotedPrintableAndDecodeToTheOriginalBytes()
    {
        const string original = "Subject: Größe\r\nFrom: jörg@bücher.example\r\n\r\nbody\r\n";
        var dsn = DsnBuilder.Build(Request(original));

        Assert.Equal(ContentEncoding.QuotedPrintable, Assert.IsAssignableFrom<MimePart>(Report(dsn)[2]).ContentTransferEncoding);
        Assert.Equal("Subject: Größe\r\nFrom: jörg@bücher.example\r\n", ReturnedHeaders(dsn));
    }

    [Fact]
    public void OriginalWithoutBodySeparatorReturnsAllOfIt()
    {
        const string original = "Subject: headers only\r\nFrom: a@example.org";
        Assert.Equal(original + "\r\n", ReturnedHeaders(DsnBuilder.Build(Request(original))));
    }

    [Fact]
    public void LongDiagnosticIsFoldedAtSpacesAndNeverEncodedWords()
    {
        var words = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"word{i}"));
        var longWord = new string('x', 120);
        var recipient = new DsnRecipient
        {
            FinalRecipient = "bob@example.com",
            Action = DsnAction.Failed,
            Status = "5.7.1",
            Diagnostic = $"550 5.7.1 {words} {longWord}",
            RemoteMta = "mx1.example.com",
            LastAttemptDate = Attempt,
        };
        var dsn = DsnBuilder.Build(Request(Original, recipient));

        var raw = Encoding.ASCII.GetString(dsn);
        Assert.DoesNotContain("=?", raw, StringComparison.Ordinal);
        var block = Groups(Report(dsn))[1];
        // Unfolding restores the text exactly: folds only happen before a space.
        Assert.Equal($"smtp; 550 5.7.1 {words} {longWord}", block["Diagnostic-Code"]?.Replace("\r\n", "", StringComparison.Ordinal).Trim());
        var statusPart = raw[raw.IndexOf("Diagnostic-Code:", StringComparison.Ordinal)..raw.IndexOf("Last-Attempt-Date:", StringComparison.Ordinal)];
        Assert.All(statusPart.Split("\r\n"), line => Assert.True(line.Length <= 78 || !line.Trim().Contains(' ', StringComparison.Ordinal), line));
    }

    [Fact]
    public void OnlyDelayedRecipientsMakeADelayWarning()
    {
        var dsn = Parse(DsnBuilder.Build(Request(Original, Bob(DsnAction.Delayed))));

        Assert.Equal(DsnBuilder.DelayedSubject, dsn.Subject);
        var report = Assert.IsType<MultipartReport>(dsn.Body);
        var block = Groups(report)[1];
        Assert.Equal("delayed", block["Action"]);
        Assert.Equal("4.2.2", block["Status"]);
        Assert.Contains("keeps trying", Explanation(report), StringComparison.Ordinal);
    }

    [Fact]
    public void FailedAndDelayedTogetherIsReportedAsUndelivered()
    {
        var dsn = Parse(DsnBuilder.Build(Request(Original, Bob(), Bob(DsnAction.Delayed))));
        Assert.Equal(DsnBuilder.FailedSubject, dsn.Subject);
    }

    [Fact]
    public void WriteFillsTheBufferWriterWithTheSameMessage()
    {
        var writer = new ArrayBufferWriter<byte>(16);
        var length = DsnBuilder.Write(Request(), writer);

        Assert.Equal(writer.WrittenCount, length);
        Assert.Equal("delivery-status", Report(writer.WrittenSpan.ToArray()).ReportType);
    }

    [Theory]
    [InlineData("", false)]
    [InlineData("alice@example.org", true)]
    [InlineData("MAILER-DAEMON@example.org", true)]
    public void BouncesGoToEveryoneButTheNullSender(string sender, bool expected)
    {
        Assert.Equal(expected, DsnBuilder.MaySend(sender));
    }

    [Fact]
    public void RequestsThatCannotMakeAValidDsnAreRefused()
    {
        Assert.Throws<ArgumentException>(() => DsnBuilder.Build(Make(Original, null, [Bob()], sender: "")));
        Assert.Throws<ArgumentException>(() => DsnBuilder.Build(Make(Original, null, [])));
        var bad = new DsnRecipient { FinalRecipient = "x@y", Action = DsnAction.Failed, Status = "550", LastAttemptDate = Attempt };
        Assert.Throws<ArgumentException>(() => DsnBuilder.Build(Request(Original, bad)));
    }

    private static DateTimeOffset ParseDate(string? value) =>
        MimeKit.Utils.DateUtils.TryParse(value ?? "", out var date) ? date : throw new FormatException(value);
}
