using Microsoft.Extensions.Configuration;

namespace FastMta.Server;

internal sealed partial class MtaSettings
{
    // Mta:Auth:MaxConcurrentVerifications starts that many threads: bounded, as a typo must not start a million.
    private const int MaxAuthVerifierThreads = 256;

    private static int GetInt(IConfigurationSection section, string key, int defaultValue, int min, int max) =>
        (int)GetLong(section, key, defaultValue, min, max);
}
