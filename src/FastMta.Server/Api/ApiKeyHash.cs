using System.Security.Cryptography;
using System.Text;

namespace FastMta.Server.Api;

/// <summary>
/// Stored form of an HTTP API key: <c>sha256$&lt;base64 of SHA-256(UTF-8 key)&gt;</c>. API keys are long random
/// tokens, so a plain SHA-256 is enough (no dictionary to guess from) and costs microseconds per request, where
/// PBKDF2 (what Mta:Auth:Users uses for human passwords) would cost tens of milliseconds on every call.
/// </summary>
internal static class ApiKeyHash
{
    private const string Prefix = "sha256$";

    public static string Hash(string key) => Prefix + Convert.ToBase64String(Digest(key));

    public static byte[] Digest(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public static bool TryParse(string stored, out byte[] digest)
    {
        digest = [];
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var buffer = new byte[SHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(stored[Prefix.Length..], buffer, out int written) || written != SHA256.HashSizeInBytes)
        {
            return false;
        }
        digest = buffer;
        return true;
    }

    /// <summary>256 random bits, URL-safe base64 without padding (43 characters).</summary>
    public static string NewKey() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
