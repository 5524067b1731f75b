namespace FastMta.Shaping;

/// <summary>
/// (source, rule, scope): scope is "" for a per-rule budget, the domain for a PerDomain rule, the site for the default
/// rule, and <see cref="TotalScope"/> for a rule's source total. Compared case-insensitively; built from strings the
/// caller already holds, so a lookup allocates nothing.
/// </summary>
internal readonly record struct StateKey(string Source, string Rule, string Scope)
{
    public const string TotalScope = "*";

    public static IEqualityComparer<StateKey> Comparer { get; } = new KeyComparer();

    private sealed class KeyComparer : IEqualityComparer<StateKey>
    {
        public bool Equals(StateKey x, StateKey y) =>
            string.Equals(x.Scope, y.Scope, StringComparison.OrdinalIgnoreCase)
            && string.Equals(x.Rule, y.Rule, StringComparison.OrdinalIgnoreCase)
            && string.Equals(x.Source, y.Source, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(StateKey key) => HashCode.Combine(
            string.GetHashCode(key.Source, StringComparison.OrdinalIgnoreCase),
            string.GetHashCode(key.Rule, StringComparison.OrdinalIgnoreCase),
            string.GetHashCode(key.Scope, StringComparison.OrdinalIgnoreCase));
    }
}
