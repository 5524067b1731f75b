using FastMta.Server.Configuration;
using FastMta.Shaping;

namespace FastMta.Server;

/// <summary>Traffic shaping (Mta:Egress for sources, pools and sender-domain pools; Mta:Shaping for rules), read into
/// the shaping library's options and validated (<see cref="ShapingConfiguration"/>). Re-read on configuration reload
/// by <see cref="DeliveryService"/>.</summary>
internal sealed class ShapingSettings
{
    public required ShapingOptions Options { get; init; }
}

internal sealed partial class MtaSettings
{
    public required ShapingSettings Shaping { get; init; }

    /// <summary>
    /// Re-reads Mta:Egress and Mta:Shaping after a configuration reload. Keeps what start-up fixed (the EHLO name);
    /// throws <see cref="InvalidOperationException"/> naming the key when the new configuration is invalid.
    /// </summary>
    public ShapingSettings ReloadShaping(IConfiguration configuration)
    {
        var options = new ShapingOptions();
        ShapingConfiguration.Read(configuration, Delivery.Outbound.EhloName, options);
        ShapingConfiguration.ThrowIfInvalid(options);
        return new ShapingSettings { Options = options };
    }
}
