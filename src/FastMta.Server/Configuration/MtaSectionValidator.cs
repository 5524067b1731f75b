using FastMta.Inbound;
using FastMta.Outbound;
using FastMta.Queue;
using FastMta.Server.Api;
using FastMta.Spool;
using Microsoft.Extensions.Options;

namespace FastMta.Server.Configuration;

/// <summary>
/// Start-up validation of <see cref="MtaSection"/>: every failure names its key (Mta:Limits:MaxMessageBytes ...), so
/// that a relay never starts half-configured. Keys not set are not checked (their defaults are valid). A value the
/// binder cannot convert at all ("lots" for a number) fails earlier, in the binder, whose message names the key too.
/// </summary>
internal sealed class MtaSectionValidator : IValidateOptions<MtaSection>
{
    /// <summary>The longest timeout, window or backoff a time span key takes unless it names its own bound: a day is far
    /// beyond any sensible value, and far below the 49.7 days past which a timer armed with it would throw.</summary>
    public static readonly TimeSpan MaxTimeSpanSetting = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, MtaSection mta)
    {
        var check = new Failures();
        // The machine's name too: it goes into the banner, EHLO and Received exactly as configured names do.
        string hostname = mta.ResolvedHostname;
        if (hostname.Any(c => c <= ' ' || c > '~'))
        {
            check.Add($"Mta:Hostname '{hostname}' must be printable ASCII without spaces.");
        }

        ValidateLimits(mta.Limits, check);
        ValidateAuth(mta.Auth, check);
        if (mta.Spool.Durability is { } durability && !string.IsNullOrWhiteSpace(durability)
            && !ConfigurationValues.TryParseName(durability, out SpoolDurability _))
        {
            check.Add($"Mta:Spool:Durability = '{durability}' must be Commit (250 after the spool commit reached the disk, the default) "
                + "or Relaxed (250 after it reached the OS page cache).");
        }

        ValidateHttp(mta.Http, check);
        ValidateDelivery(mta, check);
        ValidateWebhooks(mta.Webhooks, check);
        return check.Result;
    }

    private static void ValidateLimits(LimitsSection limits, Failures check)
    {
        const string Key = "Mta:Limits";
        check.AtLeast($"{Key}:MaxMessageBytes", limits.MaxMessageBytes, 1024);
        check.AtLeast($"{Key}:MaxRecipients", limits.MaxRecipients, 1);
        check.Duration($"{Key}:CommandTimeout", limits.CommandTimeout);
        check.Duration($"{Key}:DataTimeout", limits.DataTimeout);
        check.AtLeast($"{Key}:MaxConnections", limits.MaxConnections, 1);
        check.AtLeast($"{Key}:MaxErrors", limits.MaxErrors, 1);
        check.AtLeast($"{Key}:MinDataRate", limits.MinDataRate, 0);
        check.Duration($"{Key}:MinDataRateGracePeriod", limits.MinDataRateGracePeriod);
        check.AtLeast($"{Key}:MaxConnectionsPerClient", limits.MaxConnectionsPerClient, 1);
    }

    private static void ValidateAuth(AuthSection auth, Failures check)
    {
        const string Key = "Mta:Auth";
        foreach ((string user, string stored) in auth.Users)
        {
            if (stored.Length == 0 || !PasswordHasher.IsValidStoredValue(stored))
            {
                check.Add($"{Key}:Users:{user} is not a valid password hash (see `hash-password`).");
            }
        }

        check.AtLeast($"{Key}:MaxFailures", auth.MaxFailures, 1);
        check.Duration($"{Key}:FailureWindow", auth.FailureWindow);
        check.Between($"{Key}:MaxConcurrentVerifications", auth.MaxConcurrentVerifications, 1, AuthSection.MaxVerifierThreads);
        check.Duration($"{Key}:MaxVerificationWait", auth.MaxVerificationWait);
        check.AtLeast($"{Key}:MaxFailuresPerMinute", auth.MaxFailuresPerMinute, 1);
    }

    private static void ValidateHttp(HttpSection http, Failures check)
    {
        check.Between("Mta:Http:MaxConcurrentInjections", http.MaxConcurrentInjections, 1, InjectionSettings.MaxConcurrentInjectionsBound);
        check.Between("Mta:Http:MaxRequestBodySize", http.MaxRequestBodySize, 1024, InjectionSettings.MaxRequestBodySizeBound);
        foreach ((string name, string stored) in http.ApiKeys)
        {
            // The value is not echoed: a mistakenly stored plain key would end up in logs.
            if (stored is not { Length: > 0 } || !ApiKeyHash.TryParse(stored, out _))
            {
                check.Add($"Mta:Http:ApiKeys:{name} is not a valid API key hash (sha256$<base64>; see `hash-api-key`).");
            }
        }
    }

    private static void ValidateDelivery(MtaSection mta, Failures check)
    {
        DeliverySection delivery = mta.Delivery;
        const string Key = "Mta:Delivery";
        check.AtLeast($"{Key}:Port", delivery.Port, 1);
        check.AtLeast($"{Key}:MaxDeliveriesPerDestination", delivery.MaxDeliveriesPerDestination, 1);
        check.AtLeast($"{Key}:MaxDeliveriesInFlight", delivery.MaxDeliveriesInFlight, 1);
        check.AtLeast($"{Key}:MaxConnectionsPerHost", delivery.MaxConnectionsPerHost, 1);
        check.AtLeast($"{Key}:MaxConnectionsPerDestination", delivery.MaxConnectionsPerDestination, 1); // deprecated alias
        check.AtLeast($"{Key}:MessagesPerConnection", delivery.MessagesPerConnection, 1); // deprecated alias
        check.Duration($"{Key}:IdleTimeout", delivery.IdleTimeout);
        check.Duration($"{Key}:ConnectTimeout", delivery.ConnectTimeout);
        if (delivery.Tls is { Length: > 0 } tls && !IsTlsMode(tls))
        {
            check.Add($"{Key}:Tls = '{tls}' must be Opportunistic, Required or Disabled.");
        }

        if (delivery.SourceAddress is { Length: > 0 } source && !System.Net.IPAddress.TryParse(source, out _))
        {
            check.Add($"{Key}:SourceAddress = '{source}' is not an IP address.");
        }

        check.Duration("Mta:Queue:MaxAge", mta.Queue.MaxAge, QueueOptions.MaxLifetime);
        check.AtLeast("Mta:Queue:MaxRecipientsPerTransaction", mta.Queue.MaxRecipientsPerTransaction, 1);
        check.AtLeast("Mta:Queue:CopyForwardDistance", mta.Queue.CopyForwardDistance, 1 << 20);
        if (mta.Queue.RetrySchedule is { Length: > 0 } schedule)
        {
            try
            {
                QueueOptions.ParseSchedule(schedule);
            }
            catch (FormatException e)
            {
                check.Add($"Mta:Queue:RetrySchedule: {e.Message}");
            }
        }

        check.Duration("Mta:Dns:Timeout", mta.Dns.Timeout);
        check.AtLeast("Mta:Dns:Retries", mta.Dns.Retries, 0);
        foreach ((string domain, string target) in mta.Routes)
        {
            if (target is not { Length: > 0 } || !ConfigurationValues.IsHostPort(target))
            {
                check.Add($"Mta:Routes:{domain} = '{target}' must be host:port (e.g. 127.0.0.1:2526 or smtp.example.com:25).");
            }
        }
    }

    // Enum.TryParse also takes a defined number ("1" is Required): accepted, as it always was for this key.
    private static bool IsTlsMode(string text) => Enum.TryParse(text, ignoreCase: true, out OutboundTlsMode mode) && Enum.IsDefined(mode);

    private static void ValidateWebhooks(Dictionary<string, WebhookSection> webhooks, Failures check)
    {
        foreach ((string name, WebhookSection hook) in webhooks)
        {
            string key = $"Mta:Webhooks:{name}";
            // The value is not echoed: a webhook URL often carries a secret token.
            if (hook.Url is not { Length: > 0 } url)
            {
                check.Add($"{key}:Url is required (an absolute http or https URL).");
            }
            else if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? uri)
                     || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                check.Add($"{key}:Url must be an absolute http or https URL.");
            }

            check.Between($"{key}:BatchSize", hook.BatchSize, 1, 100_000);
            check.Between($"{key}:MaxQueue", hook.MaxQueue, 1, 100_000_000);
            check.Duration($"{key}:Timeout", hook.Timeout);
            check.Duration($"{key}:Linger", hook.Linger);
            check.Duration($"{key}:MaxBackoff", hook.MaxBackoff);
        }
    }

    /// <summary>The failures found so far, each a sentence that starts with the key.</summary>
    private sealed class Failures
    {
        private readonly List<string> _failures = [];

        public ValidateOptionsResult Result => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);

        public void Add(string failure) => _failures.Add(failure);

        public void AtLeast(string key, long? value, long min)
        {
            if (value < min)
            {
                Add($"{key} must be at least {min} (got {value}).");
            }
        }

        public void Between(string key, long? value, long min, long max)
        {
            if (value < min || value > max)
            {
                Add($"{key} must be between {min} and {max} (got {value}).");
            }
        }

        public void Duration(string key, TimeSpan? value) => Duration(key, value, MaxTimeSpanSetting);

        public void Duration(string key, TimeSpan? value, TimeSpan max)
        {
            if (value is { } span && (span <= TimeSpan.Zero || span > max))
            {
                Add($"{key} must be a positive time span (hh:mm:ss) of at most {max:c} (got {span:c}).");
            }
        }
    }
}
