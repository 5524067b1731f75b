namespace FastMta.Shaping;

/// <summary>
/// <see cref="ShapingOptions"/> that cannot be applied. <see cref="FieldPath"/> names the field inside the options
/// (<c>Rules[gmail].MaxConnections</c>), never a configuration key: the library does not know where its options came
/// from, so a host that binds them from configuration maps <see cref="Segments"/> to its own key.
/// </summary>
public sealed class ShapingOptionsException : ArgumentException
{
    public ShapingOptionsException(IReadOnlyList<ShapingFieldSegment> segments, string problem)
        : base($"{Format(segments)} {problem}")
    {
        Segments = segments;
        Problem = problem;
    }

    /// <summary>From the options down to the field: <c>Rules[gmail]</c>, <c>Match</c>, <c>MxSuffixes</c>.</summary>
    public IReadOnlyList<ShapingFieldSegment> Segments { get; }

    public string FieldPath => Format(Segments);

    /// <summary>What is wrong, worded to follow the field's name: "must be positive."</summary>
    public string Problem { get; }

    private static string Format(IReadOnlyList<ShapingFieldSegment> segments)
    {
        var path = new System.Text.StringBuilder();
        foreach (ShapingFieldSegment segment in segments)
        {
            if (path.Length > 0 && segment.Member.Length > 0)
            {
                path.Append('.');
            }

            path.Append(segment.ToString());
        }

        return path.ToString();
    }
}

/// <summary>
/// One step of a field path: a property (<c>Rules</c>) with, for an entry of a list or dictionary, its name or index
/// (<c>Rules[gmail]</c>); or, with an empty <see cref="Member"/>, an index into the list the previous step named
/// (<c>RuleCaps[gmail][2]</c>).
/// </summary>
public readonly record struct ShapingFieldSegment(string Member, string? Key = null)
{
    /// <summary>The entry at <paramref name="index"/> of the list the previous segment named.</summary>
    public static ShapingFieldSegment Index(int index) => new(string.Empty, index.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public override string ToString() => Key is null ? Member : $"{Member}[{Key}]";
}
