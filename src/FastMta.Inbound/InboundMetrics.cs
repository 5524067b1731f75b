using System.Diagnostics.Metrics;
using FastMta.Smtp;

namespace FastMta.Inbound;

// The SMTP front door's instruments. Tag values come from small fixed sets (never addresses or message ids). Names and
// units are chosen for their Prometheus names: "fastmta.smtp.connections" + "{connection}" -> fastmta_smtp_connections_total.
public sealed class InboundMetrics
{
    public const string MeterName = "FastMta.Inbound";

    private readonly Counter<long> _connections;
    private readonly UpDownCounter<long> _activeConnections;
    private readonly Counter<long> _connectionsRefused;
    private readonly Counter<long> _messagesAccepted;
    private readonly Counter<long> _bytesAccepted;
    private readonly Counter<long> _recipientsAccepted;
    private readonly Counter<long> _commands;

    // One tag per verb, made once: counting a command allocates nothing.
    private static readonly KeyValuePair<string, object?>[] VerbTags =
        [.. Enum.GetValues<SmtpVerb>().Select(v => new KeyValuePair<string, object?>("verb", v.ToString().ToLowerInvariant()))];

    private readonly Counter<long> _rejections;
    private readonly Counter<long> _tlsHandshakes;
    private readonly Counter<long> _authAttempts;
    private readonly Counter<long> _sessionsEnded;

    /// <summary>Creates the instruments on the factory's "FastMta.Inbound" meter; the server makes one, shared by every session.</summary>
    public InboundMetrics(IMeterFactory meters)
    {
        Meter meter = meters.Create(MeterName);
        _connections = meter.CreateCounter<long>("fastmta.smtp.connections", "{connection}",
            description: "SMTP connections accepted.");
        _activeConnections = meter.CreateUpDownCounter<long>("fastmta.smtp.active_connections", "{connection}",
            description: "SMTP connections open now.");
        _connectionsRefused = meter.CreateCounter<long>("fastmta.smtp.connections_refused", "{connection}",
            description: "SMTP connections refused with 421 because Mta:Limits:MaxConnections was reached.");
        _messagesAccepted = meter.CreateCounter<long>("fastmta.smtp.messages_accepted", "{message}",
            description: "Messages durably spooled and acknowledged with 250.");
        _bytesAccepted = meter.CreateCounter<long>("fastmta.smtp.accepted", "By",
            description: "Body bytes of messages acknowledged with 250 (including the Received header).");
        _recipientsAccepted = meter.CreateCounter<long>("fastmta.smtp.recipients_accepted", "{recipient}",
            description: "Recipients of messages acknowledged with 250.");
        _commands = meter.CreateCounter<long>("fastmta.smtp.commands", "{command}",
            description: "SMTP command lines received, by verb (lower case; \"unknown\" for unrecognised ones).");
        _rejections = meter.CreateCounter<long>("fastmta.smtp.rejections", "{rejection}",
            description: "Commands or messages refused with a 4xx/5xx reply, by reason.");
        _tlsHandshakes = meter.CreateCounter<long>("fastmta.smtp.tls_handshakes", "{handshake}",
            description: "STARTTLS handshakes, by result (ok, failed).");
        _authAttempts = meter.CreateCounter<long>("fastmta.smtp.auth_attempts", "{attempt}",
            description: "AUTH attempts, by result (ok, failed, rate_limited, busy).");
        _sessionsEnded = meter.CreateCounter<long>("fastmta.smtp.sessions_ended", "{session}",
            description: "SMTP sessions ended, by how (quit, client_closed, timeout, data_rate, write_timeout, spool_unavailable, too_many_errors, shutdown, error).");
        _authVerifications = meter.CreateCounter<long>("fastmta.smtp.auth_verifications", "{verification}",
            description: "AUTH passwords checked (a PBKDF2 computation each), by result (ok, failed, unknown_user: checked against the dummy hash).");
        _authRefusals = meter.CreateCounter<long>("fastmta.smtp.auth_refusals", "{refusal}",
            description: "AUTH attempts answered 454 4.7.0 without checking the password, by reason (client_limit: Mta:Auth:MaxFailures, " +
                         "global_limit: Mta:Auth:MaxFailuresPerMinute, busy: no verifier thread within Mta:Auth:MaxVerificationWait).");
        _authWaiting = meter.CreateUpDownCounter<long>("fastmta.smtp.auth_verifications_waiting", "{verification}",
            description: "AUTH attempts waiting now for a verifier thread (Mta:Auth:MaxConcurrentVerifications).");
        _connectionsRefusedPerClient = meter.CreateCounter<long>("fastmta.smtp.connections_refused_per_client", "{connection}",
            description: "SMTP connections refused with 421 because their client address already had Mta:Limits:MaxConnectionsPerClient open.");
        _slowClients = meter.CreateCounter<long>("fastmta.smtp.slow_clients", "{session}",
            description: "Sessions cut off for being too slow, by reason (data_rate: DATA/BDAT below Mta:Limits:MinDataRate; " +
                         "write_stalled: replies left unread for Mta:Limits:CommandTimeout). Slow commands end as sessions_ended{how=\"timeout\"}.");
    }

    public void ConnectionOpened()
    {
        _connections.Add(1);
        _activeConnections.Add(1);
    }

    public void ConnectionClosed() => _activeConnections.Add(-1);
    public void ConnectionRefused() => _connectionsRefused.Add(1);

    public void MessageAccepted(long bodyBytes, int recipients)
    {
        _messagesAccepted.Add(1);
        _bytesAccepted.Add(bodyBytes);
        _recipientsAccepted.Add(recipients);
    }

    public void Command(SmtpVerb verb) => _commands.Add(1, VerbTags[(int)verb]);

    public void Rejected(string reason) => _rejections.Add(1, new KeyValuePair<string, object?>("reason", reason));
    public void TlsHandshake(string result) => _tlsHandshakes.Add(1, new KeyValuePair<string, object?>("result", result));
    public void AuthAttempt(string result) => _authAttempts.Add(1, new KeyValuePair<string, object?>("result", result));
    public void SessionEnded(string how) => _sessionsEnded.Add(1, new KeyValuePair<string, object?>("how", how));

    private readonly Counter<long> _authVerifications;
    private readonly Counter<long> _authRefusals;
    private readonly UpDownCounter<long> _authWaiting;

    public void AuthVerification(string result) => _authVerifications.Add(1, new KeyValuePair<string, object?>("result", result));
    public void AuthRefused(string reason) => _authRefusals.Add(1, new KeyValuePair<string, object?>("reason", reason));
    public void AuthVerificationWaiting(int delta) => _authWaiting.Add(delta);

    private readonly Counter<long> _connectionsRefusedPerClient;
    private readonly Counter<long> _slowClients;

    public void ConnectionRefusedPerClient() => _connectionsRefusedPerClient.Add(1);
    public void SlowClientCutOff(string reason) => _slowClients.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
