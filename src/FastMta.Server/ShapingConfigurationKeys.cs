using FastMta.Shaping;

namespace FastMta.Server;

/// <summary>
/// Where each field of <see cref="ShapingOptions"/> is written in FastMta's configuration, so that a shaping error
/// names the key the operator wrote: <c>Rules[gmail].Match.MxSuffixes</c> is <c>Mta:Shaping:Rules:gmail:MxSuffixes</c>.
/// Mirrors how <see cref="Configuration.ShapingConfiguration"/> reads the section: a rule's match lists sit directly under the rule, a pool's
/// members are its keys with the weight as value, the default rule is <c>Mta:Shaping:Default</c>.
/// </summary>
internal static class ShapingConfigurationKeys
{
    public static string KeyOf(IReadOnlyList<ShapingFieldSegment> path)
    {
        if (path.Count == 0)
        {
            return "Mta:Shaping";
        }

        ShapingFieldSegment root = path[0];
        string key = root.Member switch
        {
            nameof(ShapingOptions.Sources) => "Mta:Egress:Sources",
            nameof(ShapingOptions.Pools) => "Mta:Egress:Pools",
            nameof(ShapingOptions.SenderDomainPools) => "Mta:Egress:SenderDomainPools",
            nameof(ShapingOptions.Rules) => "Mta:Shaping:Rules",
            nameof(ShapingOptions.DefaultRule) => "Mta:Shaping:Default",
            _ => "Mta:Shaping:" + root.Member,
        };
        key = Append(key, root.Key);
        for (int i = 1; i < path.Count; i++)
        {
            ShapingFieldSegment segment = path[i];
            string parent = path[i - 1].Member;
            bool bound = segment.Member switch
            {
                nameof(ShapingRule.Match) => false, // Domains, DomainSuffixes, MxSuffixes sit under the rule
                nameof(EgressPool.Members) => false, // a member is Mta:Egress:Pools:<pool>:<source>
                nameof(PoolMember.Weight) => parent != nameof(EgressPool.Members), // ...whose value is the weight
                _ => segment.Member.Length > 0,
            };
            if (bound)
            {
                key += ":" + segment.Member;
            }

            key = Append(key, segment.Key);
        }

        return key;
    }

    /// <summary>The library's message with its field path replaced by the configuration key.</summary>
    public static string Describe(ShapingOptionsException e) => $"{KeyOf(e.Segments)} {e.Problem}";

    private static string Append(string key, string? entry) => entry is null ? key : $"{key}:{entry}";
}
