namespace FastMta.Server.Api;

// `FastMta.Server hash-api-key` reads a key from standard input (first line) and prints the value to store in
// Mta:Http:ApiKeys:<name> (stdin keeps the key out of shell history and process listings).
// `FastMta.Server generate-api-key` prints a new random key on the first line and its stored value on the second.
internal static class ApiKeyCommand
{
    public static int Run(string[] args)
    {
        if (args is ["generate-api-key"])
        {
            string key = ApiKeyHash.NewKey();
            Console.WriteLine(key);
            Console.WriteLine(ApiKeyHash.Hash(key));
            return 0;
        }
        if (args is not ["hash-api-key"])
        {
            Console.Error.WriteLine("usage: FastMta.Server hash-api-key   (reads the key from standard input)");
            Console.Error.WriteLine("       FastMta.Server generate-api-key   (prints a new key and its stored value)");
            return 2;
        }
        if (!Console.IsInputRedirected)
        {
            Console.Error.Write("API key: ");
        }
        string? line = Console.ReadLine()?.Trim();
        if (string.IsNullOrEmpty(line))
        {
            Console.Error.WriteLine("hash-api-key: empty key");
            return 2;
        }
        if (line.Length < 16)
        {
            // SHA-256 without a salt is only safe for keys nobody can guess: refuse short, password-like ones.
            Console.Error.WriteLine("hash-api-key: the key must be at least 16 characters (use generate-api-key for a random one)");
            return 2;
        }
        Console.WriteLine(ApiKeyHash.Hash(line));
        return 0;
    }
}
