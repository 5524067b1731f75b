using FastMta.Server.Configuration;

namespace FastMta.Server;

/// <summary>What bounds the HTTP injection API's memory: requests in progress at once, and each request's body.</summary>
internal sealed class InjectionSettings
{
    /// <summary>The largest Mta:Http:MaxConcurrentInjections accepted.</summary>
    public const int MaxConcurrentInjectionsBound = 10_000;

    /// <summary>The largest Mta:Http:MaxRequestBodySize accepted (1 TiB).</summary>
    public const long MaxRequestBodySizeBound = 1L << 40;

    /// <summary>Mta:Http:MaxConcurrentInjections: injection requests handled at once; more get 503 with Retry-After.</summary>
    public required int MaxConcurrentInjections { get; init; }

    /// <summary>Mta:Http:MaxRequestBodySize: bytes of one injection request's body; more get 413.</summary>
    public required long MaxRequestBodySize { get; init; }

    // A request costs a few times its body while it is parsed (the JSON text, the decoded strings and attachments), so
    // concurrency and body size together bound the API's memory. Defaults: twice the processors (at most 16), and the
    // largest message plus what base64 and JSON escaping add to it (1.4 x + 64 KiB).
    public static InjectionSettings From(HttpSection http, long maxMessageBytes) => new()
    {
        MaxConcurrentInjections = http.MaxConcurrentInjections ?? Math.Min(16, 2 * Environment.ProcessorCount),
        MaxRequestBodySize = http.MaxRequestBodySize ?? (long)(maxMessageBytes * 1.4) + 65_536,
    };
}

internal sealed partial class MtaSettings
{
    public required InjectionSettings Injection { get; init; }
}
