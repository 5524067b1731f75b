using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

/// <summary>What bounds the HTTP injection API's memory: requests in progress at once, and each request's body.</summary>
internal sealed class InjectionSettings
{
    /// <summary>Mta:Http:MaxConcurrentInjections: injection requests handled at once; more get 503 with Retry-After.</summary>
    public required int MaxConcurrentInjections { get; init; }

    /// <summary>Mta:Http:MaxRequestBodySize: bytes of one injection request's body; more get 413.</summary>
    public required long MaxRequestBodySize { get; init; }
}

internal sealed partial class MtaSettings
{
    public required InjectionSettings Injection { get; init; }

    // A request costs a few times its body while it is parsed (the JSON text, the decoded strings and attachments), so
    // concurrency and body size together bound the API's memory. Defaults: twice the processors (at most 16), and the
    // largest message plus what base64 and JSON escaping add to it (1.4 x + 64 KiB).
    private static InjectionSettings LoadInjection(IConfigurationSection mta, long maxMessageBytes)
    {
        IConfigurationSection http = mta.GetSection("Http");
        return new InjectionSettings
        {
            MaxConcurrentInjections = (int)GetLong(http, "MaxConcurrentInjections", Math.Min(16, 2 * Environment.ProcessorCount), min: 1, max: 10_000),
            MaxRequestBodySize = GetLong(http, "MaxRequestBodySize", (long)(maxMessageBytes * 1.4) + 65_536, min: 1024, max: 1L << 40),
        };
    }
}
