namespace FastMta.Shaping;

/// <summary>
/// What destinations a rule applies to. Names compare case-insensitively; a trailing dot is ignored. Precedence over
/// all rules: an exact domain, then the longest matching domain suffix, then the longest matching MX host suffix.
/// </summary>
public sealed class ShapingMatch
{
    /// <summary>Exact recipient domains, e.g. "gmail.com".</summary>
    public List<string> Domains { get; set; } = [];

    /// <summary>
    /// Domain suffixes with a leading dot, e.g. ".example.com": matches every subdomain but not "example.com" itself
    /// (list that under <see cref="Domains"/>).
    /// </summary>
    public List<string> DomainSuffixes { get; set; } = [];

    /// <summary>
    /// MX host suffixes with a leading dot, e.g. ".google.com", matched against every host name in the site string
    /// (KumoMTA's MX roll-up): every domain hosted by one provider matches, whatever its own name.
    /// </summary>
    public List<string> MxSuffixes { get; set; } = [];

    internal bool IsEmpty => Domains.Count == 0 && DomainSuffixes.Count == 0 && MxSuffixes.Count == 0;
}
