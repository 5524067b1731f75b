using FastMta.Server.Api;
using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

internal sealed partial class MtaSettings
{
    /// <summary>Mta:Http:ApiKeys:&lt;name&gt; → SHA-256 digest of the key. Empty: the HTTP API serves loopback clients only.</summary>
    public required IReadOnlyDictionary<string, byte[]> ApiKeys { get; init; }

    private static Dictionary<string, byte[]> LoadApiKeys(IConfigurationSection mta)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (IConfigurationSection key in mta.GetSection("Http:ApiKeys").GetChildren())
        {
            // The value is not echoed: a mistakenly stored plain key would end up in logs.
            if (key.Value is not { Length: > 0 } stored || !ApiKeyHash.TryParse(stored, out byte[] digest))
            {
                throw new InvalidOperationException($"{key.Path} is not a valid API key hash (sha256$<base64>; see `hash-api-key`).");
            }
            keys.Add(key.Key, digest);
        }
        return keys;
    }
}
