using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

internal sealed partial class MtaSettings
{
    // Mta:Auth:MaxConcurrentVerifications starts that many threads: bounded, as a typo must not start a million.
    private const int MaxAuthVerifierThreads = 256;

    private static int GetInt(IConfigurationSection section, string key, int defaultValue, int min, int max)
    {
        long value = GetLong(section, key, defaultValue, min);
        return value <= max
            ? (int)value
            : throw new InvalidOperationException($"{section.Path}:{key} = '{section[key]}' must be an integer from {min} to {max}.");
    }
}
