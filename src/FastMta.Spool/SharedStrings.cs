using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace FastMta.Spool;

/// <summary>
/// A bounded table of shared strings for envelope fields that repeat across many messages (sender addresses of bulk
/// mail, ESMTP parameters, client addresses). A queue of a million messages then holds one string per distinct value
/// instead of one per message, and a lookup that hits allocates nothing. Bounded: once <see cref="MaxEntries"/>
/// values are known, new ones get their own string (correct, just not shared), so unique values (VERP senders)
/// cannot grow the table without limit.
/// </summary>
internal sealed class SharedStrings(int maxEntries, int maxLength)
{
    /// <summary>Sender addresses and the MAIL FROM / RCPT TO parameters.</summary>
    public static readonly SharedStrings Envelope = new(maxEntries: 50_000, maxLength: 256);

    /// <summary>Client IP addresses.</summary>
    public static readonly SharedStrings ClientAddresses = new(maxEntries: 10_000, maxLength: 64);

    private readonly ConcurrentDictionary<string, string> _table = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup => _table.GetAlternateLookup<ReadOnlySpan<char>>();

    public int MaxEntries { get; } = maxEntries;

    public int Count => _table.Count;

    /// <summary>The shared string with these UTF-8 bytes.</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        if (utf8.Length > maxLength)
        {
            return Encoding.UTF8.GetString(utf8); // long values rarely repeat: not worth a table entry
        }

        Span<char> chars = stackalloc char[maxLength];
        int length = Encoding.UTF8.GetChars(utf8, chars); // UTF-8 never has more chars than bytes
        return Get(chars[..length]);
    }

    /// <summary>The shared string equal to <paramref name="value"/>.</summary>
    public string Get(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return string.Empty;
        }

        if (value.Length <= maxLength && Lookup.TryGetValue(value, out string? shared))
        {
            return shared;
        }

        return Add(new string(value));
    }

    /// <summary>The shared string equal to <paramref name="value"/> (the value itself when it becomes the shared one).</summary>
    public string Get(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length == 0 ? string.Empty : _table.TryGetValue(value, out string? shared) ? shared : Add(value);
    }

    private string Add(string value) =>
        value.Length <= maxLength && _table.Count < MaxEntries ? _table.GetOrAdd(value, value) : value;
}
