using System.Collections.Concurrent;

namespace FastMta.Spool;

/// <summary>
/// One shared, lower-cased string per recipient domain. A queue of a million messages typically goes to a few
/// thousand domains: sharing the string costs one reference per recipient instead of one string each, and the queue
/// can group and key by it on every scheduling pass without allocating. Bounded: once <see cref="MaxEntries"/> domains
/// are known, new ones get their own string (still correct, just not shared), so hostile recipient lists cannot grow
/// the table without limit.
/// </summary>
public static class DomainNames
{
    /// <summary>Distinct domains kept; beyond this a domain is still lower-cased, just not shared.</summary>
    public const int MaxEntries = 100_000;

    private const int StackLimit = 256;

    private static readonly ConcurrentDictionary<string, string> Table = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup =
        Table.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Domains in the table (tests, metrics).</summary>
    public static int Count => Table.Count;

    /// <summary>The part of <paramref name="address"/> after its last '@', lower-cased (invariant), shared.
    /// An address literal keeps its brackets; an address without '@' is taken whole.</summary>
    public static string Of(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        int at = address.LastIndexOf('@');
        return Intern(at < 0 ? address.AsSpan() : address.AsSpan(at + 1));
    }

    /// <summary>The shared lower-cased string equal to <paramref name="domain"/> lower-cased.</summary>
    public static string Intern(ReadOnlySpan<char> domain)
    {
        char[]? rented = null;
        Span<char> lower = domain.Length <= StackLimit
            ? stackalloc char[StackLimit]
            : (rented = System.Buffers.ArrayPool<char>.Shared.Rent(domain.Length));
        try
        {
            lower = lower[..domain.Length];
            domain.ToLowerInvariant(lower);
            if (Lookup.TryGetValue(lower, out string? shared))
            {
                return shared;
            }

            string created = new(lower);
            return Table.Count < MaxEntries ? Table.GetOrAdd(created, created) : created;
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<char>.Shared.Return(rented);
            }
        }
    }
}
