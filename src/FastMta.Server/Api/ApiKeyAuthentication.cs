using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace FastMta.Server.Api;

/// <summary>
/// Bearer API keys for the HTTP API (Mta:Http:ApiKeys). With keys configured every caller, loopback included, must
/// send <c>Authorization: Bearer &lt;key&gt;</c> (401 otherwise). With none, only loopback clients are served (403 for
/// others), like SMTP relay without AUTH is open only to Mta:Relay:Networks. Usable on any route group
/// (<see cref="RequireApiKey"/>), so the admin endpoints can share it.
/// </summary>
internal static class ApiKeyAuthentication
{
    private const string CallerItem = "FastMta.ApiKeyName";

    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            HttpContext http = context.HttpContext;
            var settings = http.RequestServices.GetRequiredService<MtaSettings>();
            string endpoint = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "unnamed";
            if (settings.ApiKeys.Count == 0)
            {
                if (IsLoopback(http.Connection.RemoteIpAddress))
                {
                    return await next(context);
                }
                http.RequestServices.GetRequiredService<ApiMetrics>().Request(endpoint, "forbidden");
                return Results.Problem("No API key is configured (Mta:Http:ApiKeys), so the API is served to loopback clients only.",
                    statusCode: StatusCodes.Status403Forbidden);
            }
            if (Authenticate(http.Request.Headers.Authorization.ToString(), settings.ApiKeys) is { } name)
            {
                http.Items[CallerItem] = name;
                return await next(context);
            }
            http.RequestServices.GetRequiredService<ApiMetrics>().Request(endpoint, "unauthorized");
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem("Send a valid API key as `Authorization: Bearer <key>`.", statusCode: StatusCodes.Status401Unauthorized);
        });

    /// <summary>The name of the key the request authenticated with; null when served to loopback without keys.</summary>
    public static string? CallerName(HttpContext http) => http.Items.TryGetValue(CallerItem, out object? name) ? name as string : null;

    private static string? Authenticate(string header, IReadOnlyDictionary<string, byte[]> keys)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length == scheme.Length
            || Encoding.UTF8.GetByteCount(header) > 1024)
        {
            return null;
        }
        byte[] digest = ApiKeyHash.Digest(header[scheme.Length..].Trim());
        // Compare against every key, in constant time, so timing reveals neither the key nor which one came close.
        string? match = null;
        foreach (var (name, stored) in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(digest, stored))
            {
                match ??= name;
            }
        }
        return match;
    }

    private static bool IsLoopback(IPAddress? address) =>
        address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
