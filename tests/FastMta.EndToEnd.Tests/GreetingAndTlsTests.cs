using FastMta.EndToEnd.Tests.Infrastructure;

namespace FastMta.EndToEnd.Tests;

// Banner, EHLO/HELO and STARTTLS (RFC 3207), including the CVE-2011-0411 command injection defence.
public sealed class GreetingAndTlsTests(LimitsServerFixture fixture) : IClassFixture<LimitsServerFixture>
{
    [Fact]
    public async Task TheBannerNamesTheHostAndEhloAdvertisesTheContractedExtensions()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        Assert.Equal(["220 mx.test.example ESMTP"], client.Banner!.Lines);
        SmtpReply ehlo = await client.EhloAsync();
        Assert.Equal("250-mx.test.example", ehlo.Lines[0]);
        foreach (string keyword in (string[])["PIPELINING", $"SIZE {LimitsServerFixture.MaxMessageBytes}", "8BITMIME", "SMTPUTF8",
                     "ENHANCEDSTATUSCODES", "CHUNKING", "STARTTLS"])
        {
            Assert.True(ehlo.Extensions.Contains(keyword), $"EHLO does not advertise '{keyword}': {ehlo}");
        }
        // AUTH needs TLS here (Mta:Auth:AllowPlaintext is false).
        Assert.False(ehlo.Advertises("AUTH"), $"AUTH offered before TLS: {ehlo}");
    }

    [Fact]
    public async Task HeloGetsAOneLineReplyAndAllowsATransaction()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        SmtpReply helo = await client.CommandAsync("HELO old.client.example", 250);
        Assert.Single(helo.Lines);
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
    }

    [Fact]
    public async Task AnInvalidHeloNameGets501()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.CommandAsync("EHLO", 501, "5.5.4");
        await client.CommandAsync("EHLO bad name with spaces!", 501, "5.5.4");
        await client.EhloAsync();
    }

    [Fact]
    public async Task AfterStartTlsEhloOffersAuthAndNoLongerOffersStartTls()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        await client.StartTlsAsync();
        SmtpReply ehlo = await client.EhloAsync();
        Assert.False(ehlo.Advertises("STARTTLS"), $"STARTTLS offered again under TLS: {ehlo}");
        Assert.True(ehlo.Extensions.Contains("AUTH PLAIN LOGIN"), $"AUTH not offered under TLS: {ehlo}");
        await client.CommandAsync("STARTTLS", 503, "5.5.1");
        await client.AuthPlainAsync("alice", "secret", 235, "2.7.0");
    }

    [Fact]
    public async Task TlsStartsTheSessionOverSoMailNeedsAFreshEhlo()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 503, "5.5.1");
        await client.EhloAsync();
        await client.CommandAsync("MAIL FROM:<a@x.example>", 250, "2.1.0");
    }

    [Fact]
    public async Task CommandsPipelinedBehindStartTlsAreDiscardedNotExecutedUnderTls()
    {
        await using RawSmtpClient client = await fixture.ConnectAsync();
        await client.EhloAsync();
        // CVE-2011-0411: a man in the middle appends a command to the cleartext STARTTLS packet.
        await client.WriteAsync("STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n");
        await client.ExpectAsync(220, "2.0.0");
        await client.UpgradeToTlsAsync();
        await client.EhloAsync();
        await client.CommandAsync("RCPT TO:<b@y.example>", 503, "5.5.1");
        await client.CommandAsync("MAIL FROM:<good@x.example>", 250, "2.1.0");
    }
}
