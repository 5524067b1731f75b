using System.Net;

namespace FastMta.Outbound;

/// <summary>How the client uses STARTTLS (RFC 3207).</summary>
public enum OutboundTlsMode
{
    /// <summary>STARTTLS when offered, certificate not verified (no MTA-STS/DANE to say which name to trust); plaintext otherwise.</summary>
    Opportunistic,

    /// <summary>STARTTLS must be offered and succeed, or the recipients are deferred (4.7.x).</summary>
    Required,

    /// <summary>Never STARTTLS.</summary>
    Disabled,
}

/// <summary>The outbound SMTP client and its connection pool.</summary>
public sealed class OutboundOptions
{
    /// <summary>The name sent in EHLO/HELO; should resolve to the egress address (many receivers check).</summary>
    public string EhloName { get; set; } = Environment.MachineName;

    /// <summary>Transactions on one connection before it is closed; spreads load over the receiver's hosts.</summary>
    public int MessagesPerConnection { get; set; } = 100;

    /// <summary>A pooled connection unused this long is closed with QUIT.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Open connections (in use, idle or being opened) per (source address, EHLO name, receiver address); a
    /// lease past it waits for one to be returned. Postfix's default_destination_concurrency_limit is 20.</summary>
    public int MaxConnectionsPerHost { get; set; } = 20;

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    // RFC 5321 4.5.3.2 client timeouts.
    public TimeSpan GreetingTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan MailFromTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan RcptTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan DataInitTimeout { get; set; } = TimeSpan.FromMinutes(2);
    public TimeSpan DataBlockTimeout { get; set; } = TimeSpan.FromMinutes(3);
    public TimeSpan DataTerminationTimeout { get; set; } = TimeSpan.FromMinutes(10);

    public OutboundTlsMode Tls { get; set; } = OutboundTlsMode.Opportunistic;

    /// <summary>Verify the receiver's certificate against its MX name; off by default, as in every MTA without MTA-STS/DANE.</summary>
    public bool VerifyCertificate { get; set; }

    /// <summary>The egress address to bind before connecting; null lets the OS choose.</summary>
    public IPAddress? SourceAddress { get; set; }

    /// <summary>With CHUNKING, bodies larger than this go out as several BDAT chunks (RFC 3030 2).</summary>
    public int BdatChunkSize { get; set; } = 1024 * 1024;
}
