using System.Diagnostics.CodeAnalysis;

namespace FastMta.Spool;

/// <summary>
/// Message identifier: <c>unix milliseconds &lt;&lt; 16 | counter</c>, strictly increasing within a process and unique
/// across restarts as long as the clock does not go backwards. Text form: 13 characters of Crockford base32, uppercase,
/// which sort like the numbers.
/// </summary>
public readonly struct SpoolMessageId : IEquatable<SpoolMessageId>
{
    private const int TextLength = 13;
    private static ReadOnlySpan<byte> Alphabet => "0123456789ABCDEFGHJKMNPQRSTVWXYZ"u8;
    private static long _last;

    public SpoolMessageId(ulong value) => Value = value;

    public ulong Value { get; }

    /// <summary>A new identifier, greater than any other created by this process.</summary>
    internal static SpoolMessageId NewId()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() << 16;
        while (true)
        {
            long previous = Volatile.Read(ref _last);
            long next = now > previous ? now : previous + 1;
            if (Interlocked.CompareExchange(ref _last, next, previous) == previous)
            {
                return new SpoolMessageId((ulong)next);
            }
        }
    }

    public bool TryFormat(Span<byte> utf8Destination, out int written)
    {
        if (utf8Destination.Length < TextLength)
        {
            written = 0;
            return false;
        }

        ulong v = Value;
        for (int i = TextLength - 1; i >= 0; i--)
        {
            utf8Destination[i] = Alphabet[(int)(v & 31)];
            v >>= 5;
        }

        written = TextLength;
        return true;
    }

    public override string ToString()
    {
        return string.Create(TextLength, Value, static (chars, value) =>
        {
            Span<byte> utf8 = stackalloc byte[TextLength];
            new SpoolMessageId(value).TryFormat(utf8, out _);
            for (int i = 0; i < TextLength; i++)
            {
                chars[i] = (char)utf8[i];
            }
        });
    }

    /// <summary>Parses the 13-character form; case-insensitive, and O, I, L are read as 0, 1, 1 (Crockford).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out SpoolMessageId id)
    {
        id = default;
        if (text.Length != TextLength)
        {
            return false;
        }

        ulong value = 0;
        for (int i = 0; i < TextLength; i++)
        {
            int digit = Decode(text[i]);
            if (digit < 0 || (i == 0 && digit > 15))
            {
                return false;
            }

            value = (value << 5) | (uint)digit;
        }

        id = new SpoolMessageId(value);
        return true;
    }

    private static int Decode(char c)
    {
        c = char.ToUpperInvariant(c);
        switch (c)
        {
            case 'O': return 0;
            case 'I':
            case 'L': return 1;
        }

        if (c > 127)
        {
            return -1;
        }

        return Alphabet.IndexOf((byte)c);
    }

    public bool Equals(SpoolMessageId other) => Value == other.Value;

    public override bool Equals([NotNullWhen(true)] object? obj) => obj is SpoolMessageId other && Equals(other);

    public override int GetHashCode() => Value.GetHashCode();

    public static bool operator ==(SpoolMessageId left, SpoolMessageId right) => left.Equals(right);

    public static bool operator !=(SpoolMessageId left, SpoolMessageId right) => !left.Equals(right);
}
