using System.Security.Cryptography;
using System.Text;

namespace FastMta.Inbound;

// Stored form of an AUTH password (Mta:Auth:Users:<name>):
//   pbkdf2-sha256$<iterations>$<salt, base64>$<hash, base64>
// `FastMta.Server hash-password` prints one. A value without the prefix is taken as a plain password (development
// only; the Server logs a warning at start-up). Comparison is constant-time in both cases.
public static class PasswordHasher
{
    public const string Prefix = "pbkdf2-sha256$";
    private const int DefaultIterations = 100_000;
    private const int SaltBytes = 16;
    private const int HashBytes = 32;
    private const int MaxHashBytes = 64; // a verification derives the hash into a stack buffer

    public static bool IsHashed(string stored) => stored.StartsWith(Prefix, StringComparison.Ordinal);

    public static string Hash(string password, int iterations = DefaultIterations)
    {
        byte[] salt = RandomNumberGenerator.GetBytes(SaltBytes);
        byte[] hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"{Prefix}{iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    // False for a wrong password and for a malformed stored value (the Server validates values at start-up). The
    // SMTP server does not call this per attempt: it parses every user's value once (StoredPassword).
    public static bool Verify(string stored, ReadOnlySpan<byte> password) =>
        StoredPassword.TryParse(stored, out StoredPassword parsed) && parsed.Verify(password);

    public static bool IsValidStoredValue(string stored) => !IsHashed(stored) || TryParse(stored, out _, out _, out _);

    internal static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        string[] parts = stored[Prefix.Length..].Split('$');
        if (parts.Length != 3 || !int.TryParse(parts[0], out iterations) || iterations < 1)
        {
            return false;
        }
        try
        {
            salt = Convert.FromBase64String(parts[1]);
            hash = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length > 0 && hash.Length is > 0 and <= MaxHashBytes;
    }
}
