using System.Security.Cryptography;
using System.Text;

namespace FastMta.Inbound;

// A user's stored secret (Mta:Auth:Users:<name>), parsed once at start-up so a verification splits and decodes
// nothing. Verify costs the same whatever the password: PBKDF2 with the stored parameters and a constant-time compare;
// a plain (development) password is compared as SHA-256 digests, so neither its length nor a common prefix shows.
internal sealed class StoredPassword
{
    private const int DummySaltBytes = 16;
    private readonly int _iterations; // 0: a plain password, kept as its SHA-256 digest
    private readonly byte[] _salt;
    private readonly byte[] _expected;
    private readonly bool _isDummy;

    private StoredPassword(int iterations, byte[] salt, byte[] expected, bool isDummy)
    {
        _iterations = iterations;
        _salt = salt;
        _expected = expected;
        _isDummy = isDummy;
    }

    public bool IsHashed => _iterations > 0;

    public static bool TryParse(string stored, out StoredPassword password)
    {
        if (!PasswordHasher.IsHashed(stored))
        {
            password = new StoredPassword(0, [], SHA256.HashData(Encoding.UTF8.GetBytes(stored)), isDummy: false);
            return true;
        }
        if (PasswordHasher.TryParse(stored, out int iterations, out byte[] salt, out byte[] hash))
        {
            password = new StoredPassword(iterations, salt, hash, isDummy: false);
            return true;
        }
        password = null!;
        return false;
    }

    // What an unknown user is checked against, so that "no such user" takes as long as "wrong password" (RFC 4954 9
    // warns against telling the two apart). Same parameters as the costliest real hash (or a plain compare when every
    // real password is plain); it never matches, whatever the password.
    public static StoredPassword Dummy(IEnumerable<StoredPassword> real)
    {
        StoredPassword? costliest = real.Where(p => p.IsHashed).MaxBy(p => p._iterations);
        return costliest is null
            ? new StoredPassword(0, [], RandomNumberGenerator.GetBytes(SHA256.HashSizeInBytes), isDummy: true)
            : new StoredPassword(costliest._iterations, RandomNumberGenerator.GetBytes(DummySaltBytes),
                RandomNumberGenerator.GetBytes(costliest._expected.Length), isDummy: true);
    }

    // CPU-bound (tens of milliseconds at 100,000 iterations): called on AuthVerifier's threads, never on a session's.
    public bool Verify(ReadOnlySpan<byte> password)
    {
        Span<byte> actual = stackalloc byte[Math.Max(_expected.Length, SHA256.HashSizeInBytes)];
        actual = actual[.._expected.Length];
        if (IsHashed)
        {
            Rfc2898DeriveBytes.Pbkdf2(password, _salt, actual, _iterations, HashAlgorithmName.SHA256);
        }
        else
        {
            SHA256.HashData(password, actual);
        }
        bool equal = CryptographicOperations.FixedTimeEquals(actual, _expected);
        CryptographicOperations.ZeroMemory(actual);
        return equal && !_isDummy;
    }
}
