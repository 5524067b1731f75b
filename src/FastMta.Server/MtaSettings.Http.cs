using FastMta.Server.Api;
using FastMta.Server.Configuration;

namespace FastMta.Server;

internal sealed partial class MtaSettings
{
    /// <summary>Mta:Http:ApiKeys:&lt;name&gt; → SHA-256 digest of the key. Empty: the HTTP API serves loopback clients only.</summary>
    public required IReadOnlyDictionary<string, byte[]> ApiKeys { get; init; }

    // Each value was checked by MtaSectionValidator (without echoing it: a mistakenly stored plain key would end up in logs).
    private static Dictionary<string, byte[]> ReadApiKeys(HttpSection http) =>
        http.ApiKeys.ToDictionary(k => k.Key, k => ApiKeyHash.TryParse(k.Value, out byte[] digest)
            ? digest
            : throw new InvalidOperationException($"Mta:Http:ApiKeys:{k.Key} is not a valid API key hash."), StringComparer.Ordinal);
}
