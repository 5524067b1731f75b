namespace FastMta.Fuzz;

/// <summary>A target's invariant does not hold: a finding, like a crash (afl-fuzz records both as crashes).</summary>
public sealed class FuzzInvariantException(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(what);
        }
    }
}
