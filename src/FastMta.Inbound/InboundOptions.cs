using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace FastMta.Inbound;

// Everything the SMTP front door needs, already validated and resolved by the Server (which binds configuration; the
// setters are for its options-pattern configuration step, nothing changes them once the server runs).
public sealed class InboundOptions
{
    public required string Hostname { get; set; }
    public long MaxMessageBytes { get; set; } = 36_700_160;
    public int MaxRecipients { get; set; } = 1000;
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public TimeSpan DataTimeout { get; set; } = TimeSpan.FromMinutes(5);
    public int MaxConnections { get; set; } = 1000;
    // Postfix's smtpd_hard_error_limit: a client that keeps sending garbage is disconnected.
    public int MaxErrors { get; set; } = 20;
    public IReadOnlyList<IPNetwork> RelayNetworks { get; set; } = [];
    // Null disables STARTTLS (the Server always supplies one: configured or self-signed).
    public X509Certificate2? Certificate { get; set; }
    // name -> stored secret (PBKDF2 hash or, for development, a plain password).
    public IReadOnlyDictionary<string, string> AuthUsers { get; set; } = new Dictionary<string, string>();
    // AUTH is offered only under TLS unless this is set (RFC 4954 4: plaintext passwords need a protected channel).
    public bool AllowPlaintextAuth { get; set; }
    public int MaxAuthFailures { get; set; } = 5;
    public TimeSpan AuthFailureWindow { get; set; } = TimeSpan.FromMinutes(5);
    // Password checks (PBKDF2) run on this many threads of their own, off the sessions' I/O path; an attempt waits at
    // most AuthVerificationWait for one, then gets 454 4.7.0.
    public int MaxConcurrentAuthVerifications { get; set; } = Environment.ProcessorCount;
    public TimeSpan AuthVerificationWait { get; set; } = TimeSpan.FromSeconds(5);
    // Failed AUTH attempts per minute from all clients together; past it AUTH gets 454 4.7.0 for everyone.
    public int MaxAuthFailuresPerMinute { get; set; } = 300;
    // Slowloris defence for DATA/BDAT (Kestrel's MinRequestBodyDataRate): bytes per second of waiting, averaged over
    // the message once the grace period is over; 0 disables it (DataTimeout still applies).
    public int MinDataRate { get; set; } = 240;
    public TimeSpan MinDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(10);
    // Concurrent sessions from one client address, so that one host cannot take every MaxConnections slot.
    public int MaxConnectionsPerClient { get; set; } = 20;
    // Clients in RelayNetworks are not held to MaxConnectionsPerClient (a trusted submission host behind one address).
    public bool ExemptRelayNetworks { get; set; }
}
