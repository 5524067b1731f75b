using System.Globalization;
using System.Net;

namespace FastMta.Server.Configuration;

/// <summary>
/// The parsing the configuration binder cannot do: list keys given as one comma-separated value, ip:port endpoints,
/// CIDR networks, and enums by name only (the binder's enum conversion also takes numbers, so "1" would be Relaxed).
/// Each failure is an <see cref="InvalidOperationException"/> that names the key.
/// </summary>
internal static class ConfigurationValues
{
    /// <summary>A list key given as one value ("a,b" — handy in environment variables) or as an array (appsettings.json);
    /// empty when not set.</summary>
    public static List<string> ReadList(IConfigurationSection section) =>
        section.Value is { Length: > 0 } single
            ? [.. single.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : [.. section.GetChildren().Select(c => c.Value).OfType<string>().Where(v => v.Length > 0)];

    /// <summary><see cref="ReadList"/>, or the defaults when the key lists nothing.</summary>
    public static List<string> ReadList(IConfigurationSection section, IReadOnlyList<string> defaults) =>
        ReadList(section) is { Count: > 0 } items ? items : [.. defaults];

    public static IPEndPoint ParseEndpoint(string text, string key) =>
        IPEndPoint.TryParse(text, out IPEndPoint? endpoint) && endpoint.Port != 0
            ? endpoint
            : throw new InvalidOperationException($"{key} entry '{text}' is not ip:port (e.g. 127.0.0.1:2525 or [::1]:2525).");

    public static IPNetwork ParseNetwork(string text, string key) =>
        IPNetwork.TryParse(text, out IPNetwork network)
            ? network
            : throw new InvalidOperationException($"{key} entry '{text}' is not a CIDR (e.g. 10.0.0.0/8).");

    /// <summary>A defined name of <typeparamref name="TEnum"/>, case-insensitive; numbers are refused.</summary>
    public static bool TryParseName<TEnum>(string text, out TEnum value) where TEnum : struct, Enum
    {
        string? name = Enum.GetNames<TEnum>().FirstOrDefault(n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        value = name is null ? default : Enum.Parse<TEnum>(name);
        return name is not null;
    }

    /// <summary><see cref="TryParseName{TEnum}"/>, throwing with <paramref name="expected"/> (what the key takes) when it fails.</summary>
    public static TEnum ParseName<TEnum>(string text, string key, string expected) where TEnum : struct, Enum =>
        TryParseName(text, out TEnum value) ? value : throw new InvalidOperationException($"{key} = '{text}' must be {expected}.");

    /// <summary>host:port with a port of 1-65535 (the host is not checked: a name or an address).</summary>
    public static bool IsHostPort(string text)
    {
        int colon = text.LastIndexOf(':');
        return colon > 0 && int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port)
            && port is > 0 and < 65536;
    }
}
