using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastMta.EndToEnd.Tests.Infrastructure;
using FastMta.Tests.Shared;
using Xunit.Abstractions;

namespace FastMta.EndToEnd.Tests;

// One content policy for DATA, BDAT and the HTTP API: a CR or LF that is not part of a CRLF is refused (554 5.6.0
// over SMTP, 400 over HTTP) and nothing is spooled, so no end-of-data look-alike ("\r.\r\n", "\n.\n", ...) and no
// smuggled command after it is ever relayed. Real server processes on loopback, raw sockets, the spool read back.
public sealed class BareLineEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    // Each payload hides a second transaction behind something a lenient receiver could take for the end of data.
    public static TheoryData<string, string> SmugglingPayloads => new()
    {
        { "CR . CR LF", "\r.\r\n" },
        { "CR LF CR . CR LF", "\r\n\r.\r\n" },
        { "LF . LF", "\n.\n" },
        { "CR LF . LF", "\r\n.\n" },
        { "CR . LF", "\r.\n" },
        { "LF . CR LF", "\n.\r\n" },
        { "CR CR LF . CR CR LF", "\r\r\n.\r\r\n" },
        { "bare CR mid-line", "one\rtwo\r\n" },
    };

    private static string Smuggling(string lookAlike) =>
        "Subject: smuggling\r\n\r\nfirst" + lookAlike
        + "MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@y.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n";

    // A message with both is reported as bare LF.
    private static string Reported(string lookAlike) => lookAlike.Replace("\r\n", "").Contains('\n') ? "bare LF" : "bare CR";

    [Fact]
    public async Task Every_smuggling_payload_over_DATA_gets_554_5_6_0_after_the_terminator_and_nothing_is_spooled()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        foreach ((string name, string lookAlike) in SmugglingPayloads.Select(p => ((string)p[0], (string)p[1])))
        {
            await using RawSmtpClient client = await RawSmtpClient.ConnectAsync(server);
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<smuggler@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.CommandAsync("DATA", 354);
            await client.WriteAsync(Smuggling(lookAlike) + ".\r\n");
            SmtpReply refused = await client.ExpectAsync(554, "5.6.0");
            Assert.Contains(Reported(lookAlike), refused.Lines[^1]);
            // The smuggled commands were content: no reply of theirs comes, and the transaction is gone.
            await client.CommandAsync("NOOP", 250, "2.0.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 503, "5.5.1");
            output.WriteLine($"{name}: {refused.Lines[^1]}");
        }

        // The same session shape with a CRLF-clean body is accepted: the refusal is about the content alone.
        string id;
        byte[] valid = "Subject: fine\r\n\r\n.leading dot\r\nfirst\r\n"u8.ToArray();
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            id = await client.SendMessageAsync("control@x.example", ["b@y.example"], valid);
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, "the control message", server);
        SpoolAssert.None(spool, e => e.Sender != "control@x.example", "other than the control message", server);
        SpoolAssert.ContentEqual(valid, entry.Content, "the control message", server);
    }

    [Fact]
    public async Task BDAT_content_with_a_bare_CR_or_LF_gets_554_5_6_0_after_its_chunk_and_is_not_spooled_but_a_CRLF_split_between_chunks_is_fine()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        byte[] first = "Subject: split CRLF\r\n\r\nline one\r"u8.ToArray();
        byte[] second = "\n.line two\r\n"u8.ToArray();
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(server))
        {
            await client.EhloAsync();
            foreach ((string name, string lookAlike) in SmugglingPayloads.Select(p => ((string)p[0], (string)p[1])))
            {
                byte[] content = Encoding.ASCII.GetBytes(Smuggling(lookAlike));
                await client.CommandAsync("MAIL FROM:<smuggler@x.example>", 250, "2.1.0");
                await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
                await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {content.Length} LAST\r\n"), .. content]);
                SmtpReply refused = await client.ExpectAsync(554, "5.6.0");
                Assert.Contains(Reported(lookAlike), refused.Lines[^1]);
                await client.CommandAsync("RCPT TO:<b@y.example>", 503, "5.5.1"); // the transaction ended with LAST
                output.WriteLine($"{name}: {refused.Lines[^1]}");
            }

            // A bare LF in a first chunk: that chunk and every one after it up to LAST are refused.
            await client.CommandAsync("MAIL FROM:<two-chunks@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.WriteAsync([.. "BDAT 6\r\n"u8, .. "a\n.b\r\n"u8]);
            await client.ExpectAsync(554, "5.6.0");
            await client.WriteAsync([.. "BDAT 3 LAST\r\n"u8, .. "c\r\n"u8]);
            await client.ExpectAsync(554, "5.6.0");

            // A CR ending the LAST chunk has no LF after it.
            await client.CommandAsync("MAIL FROM:<trailing-cr@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.WriteAsync([.. "BDAT 4\r\n"u8, .. "ab\r\n"u8]);
            await client.ExpectAsync(250, "2.0.0");
            await client.WriteAsync([.. "BDAT 2 LAST\r\n"u8, .. "c\r"u8]);
            SmtpReply trailing = await client.ExpectAsync(554, "5.6.0");
            Assert.Contains("bare CR", trailing.Lines[^1]);

            // CR at the end of one chunk, LF at the start of the next: a CRLF, accepted and stored as sent.
            await client.CommandAsync("MAIL FROM:<split@x.example>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<b@y.example>", 250, "2.1.5");
            await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {first.Length}\r\n"), .. first]);
            await client.ExpectAsync(250, "2.0.0");
            await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {second.Length} LAST\r\n"), .. second]);
            id = (await client.ExpectAsync(250, "2.0.0")).QueuedId;
            await client.CommandAsync("QUIT", 221, "2.0.0");
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Id == id, "the message with a CRLF split between chunks", server);
        SpoolAssert.None(spool, e => e.Sender != "split@x.example", "other than the CRLF-clean one", server);
        SpoolAssert.ContentEqual([.. first, .. second], entry.Content, "BDAT with CR | LF across chunks", server);
    }

    // The defect behind the BDAT policy: "\n." accepted over BDAT and relayed over DATA arrived as "\n.." (the dot was
    // stuffed after the bare LF, and a receiver unstuffs only after CRLF). Now it is refused at the door, and a valid
    // message with dots at line starts reaches the receiver byte-identical.
    [Fact]
    public async Task A_bare_LF_over_BDAT_is_refused_and_a_message_with_leading_dots_is_relayed_over_DATA_byte_identical()
    {
        await using var sink = new LoopbackSmtpSink(new LoopbackSmtpSinkOptions { Chunking = false });
        await using ServerProcess relay = await ServerProcess.StartAsync(
            ["Mta:Delivery:Enabled=true", "Mta:Queue:RetrySchedule=00:00:01", $"Mta:Routes:*={sink.EndPoint}"], output: output);
        byte[] bad = "Subject: bare LF\r\n\r\nfirst\n.second\r\n"u8.ToArray();
        byte[] good = "Subject: dots\r\n\r\n.one\r\n..two\r\n.\r\n...\r\nend . \r\n.\r\n.x\r\n"u8.ToArray();
        string id;
        await using (RawSmtpClient client = await RawSmtpClient.ConnectAsync(relay))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<bare@sender.test>", 250, "2.1.0");
            await client.CommandAsync("RCPT TO:<bob@dest.test>", 250, "2.1.5");
            await client.WriteAsync([.. Encoding.ASCII.GetBytes($"BDAT {bad.Length} LAST\r\n"), .. bad]);
            await client.ExpectAsync(554, "5.6.0");
            id = await client.SendMessageAsync("dots@sender.test", ["bob@dest.test"], good);
        }

        SinkMessage received = (await sink.WaitForMessagesAsync(1, Wait)).Single();
        Assert.False(received.ViaBdat);
        Assert.Equal("dots@sender.test", received.Sender);
        (string header, byte[] rest) = MessageContent.SplitReceived(received.Data);
        Assert.Contains($"id {id}", header);
        Assert.Equal(good, rest);

        IReadOnlyList<LoggedEvent> log = await DeliveryLogReader.WaitAsync(relay, e => e.Any(x => x.Type == "Delivery"), "the delivery is logged");
        Assert.DoesNotContain(log, e => e.Sender == "bare@sender.test");
        Assert.Single(sink.Messages);
    }

    [Fact]
    public async Task HTTP_content_text_or_html_with_a_bare_CR_gets_400_naming_the_field_and_nothing_is_spooled()
    {
        await using ServerProcess server = await ServerProcess.StartAsync(output: output);
        using var http = new HttpClient { Timeout = Wait };
        string[] refused = ["Subject: x\r\n\r\nfirst\r.\r\nMAIL FROM:<evil@x.example>\r\n", "Subject: x\r\n\r\nends with CR\r", "Subject: x\rY: z\n\nb\n"];
        foreach (string content in refused)
        {
            string json = JsonSerializer.Serialize(new { from = "api@sender.test", recipients = new[] { "bob@dest.test" }, content },
                JsonSerializerOptions.Web);
            using HttpResponseMessage response = await http.PostAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/messages",
                new StringContent(json, Encoding.UTF8, "application/json"));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            string error = JsonNode.Parse(body)!["errors"]!["content"]![0]!.GetValue<string>();
            Assert.Contains("bare CR", error);
        }

        // LF line ends (JSON text) are still made CRLF, and the dot after one survives as it was written.
        using (HttpResponseMessage accepted = await http.PostAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/messages",
                   new StringContent(JsonSerializer.Serialize(new { from = "lf@sender.test", recipients = new[] { "bob@dest.test" },
                       content = "Subject: lf\n\nfirst\n.second\n" }, JsonSerializerOptions.Web), Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        // The structured form is built by MimeKit, which keeps a bare CR in text or html as it is: refused too.
        foreach ((string field, object message) in (IEnumerable<(string, object)>)[
            ("text", new { from = "built@sender.test", recipients = new[] { "bob@dest.test" }, subject = "s", text = "a\r.\r\nMAIL FROM:<e@x>\r\n" }),
            ("html", new { from = "built@sender.test", recipients = new[] { "bob@dest.test" }, subject = "s", html = "<p>x\r.\ry</p>" })])
        {
            using HttpResponseMessage response = await http.PostAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/messages",
                new StringContent(JsonSerializer.Serialize(message, JsonSerializerOptions.Web), Encoding.UTF8, "application/json"));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {body}");
            Assert.Contains("bare CR", JsonNode.Parse(body)!["errors"]![field]![0]!.GetValue<string>());
        }
        // LF and CRLF in its text are fine, and stored as CRLF.
        using (HttpResponseMessage built = await http.PostAsync($"http://127.0.0.1:{server.HttpPort}/api/v1/messages",
                   new StringContent(JsonSerializer.Serialize(new { from = "built@sender.test", recipients = new[] { "bob@dest.test" },
                       subject = "s", text = "a\r\n.\r\nb\n.\nc", html = "<p>x\n.\ny</p>" }, JsonSerializerOptions.Web),
                       Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, built.StatusCode);
        }

        await server.StopGracefullyAsync();
        IReadOnlyList<SpoolEntry> spool = await SpoolInspector.ReadAllAsync(server.SpoolPath);
        Assert.All(spool, e =>
        {
            var checker = new FastMta.Smtp.LineEndChecker();
            checker.Check(e.Content);
            checker.Complete();
            Assert.False(checker.SawBareLineEnd, MessageContent.Preview(e.Content, 2000));
        });
        SpoolEntry entry = SpoolAssert.Single(spool, e => e.Sender == "lf@sender.test", "the LF message", server);
        Assert.EndsWith("Subject: lf\r\n\r\nfirst\r\n.second\r\n", Encoding.UTF8.GetString(entry.Content));
        SpoolAssert.Single(spool, e => e.Sender == "built@sender.test", "the structured message", server);
        Assert.Equal(2, spool.Count);
    }
}
