namespace FastMta.Fuzz;

/// <summary>
/// The codec's fuzz targets by name. Each runs its piece on one input (see <see cref="FuzzInput"/> for the layout)
/// and checks invariants beyond "no exception": bounds, progress, a reference model where one is simple, and the
/// same result whatever the split of the input into segments or arrivals. A failure throws
/// <see cref="FuzzInvariantException"/>; any other exception is a finding too.
/// </summary>
public static class FuzzTargets
{
    public static IReadOnlyList<string> Names { get; } = ["command", "data", "header", "reply", "sasl"];

    public static void Run(string target, ReadOnlySpan<byte> input)
    {
        switch (target)
        {
            case "command":
                CommandTarget.Run(input);
                break;
            case "data":
                DataTarget.Run(input);
                break;
            case "header":
                HeaderTarget.Run(input);
                break;
            case "reply":
                ReplyTarget.Run(input);
                break;
            case "sasl":
                SaslTarget.Run(input);
                break;
            default:
                throw new ArgumentException($"Unknown fuzz target '{target}'; known: {string.Join(", ", Names)}.", nameof(target));
        }
    }
}
