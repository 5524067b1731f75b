namespace FastMta.Shaping;

/// <summary>
/// A pool's members and nginx's smooth weighted round-robin state. Weights 5, 1, 1 give a, a, b, a, c, a, a: the
/// exact shares over every cycle, interleaved rather than in runs. The lock covers only the few additions of one
/// selection, never an admission.
/// </summary>
internal sealed class CompiledPool(string name, CompiledSource[] members, int[] weights)
{
    private readonly int[] _current = new int[members.Length];
    private readonly Lock _gate = new();

    public string Name { get; } = name;

    public CompiledSource[] Members { get; } = members;

    /// <summary>Picks the next member not in <paramref name="tried"/> (bit i = member i), or -1 when all were tried.</summary>
    public int Select(ulong tried)
    {
        lock (_gate)
        {
            int best = -1;
            int total = 0;
            for (int i = 0; i < Members.Length; i++)
            {
                if ((tried & (1UL << i)) != 0)
                {
                    continue;
                }

                _current[i] += weights[i];
                total += weights[i];
                if (best < 0 || _current[i] > _current[best])
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                _current[best] -= total;
            }

            return best;
        }
    }
}
