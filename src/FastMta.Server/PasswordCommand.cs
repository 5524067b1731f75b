using FastMta.Inbound;

namespace FastMta.Server;

// `FastMta.Server hash-password` reads a password from standard input (first line) and prints the value to store
// in Mta:Auth:Users:<name>. Reading stdin keeps the password out of shell history and process listings.
internal static class PasswordCommand
{
    public static int Run(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: FastMta.Server hash-password   (reads the password from standard input)");
            return 2;
        }
        if (!Console.IsInputRedirected)
        {
            Console.Error.Write("Password: ");
        }
        string? password = Console.ReadLine();
        if (string.IsNullOrEmpty(password))
        {
            Console.Error.WriteLine("hash-password: empty password");
            return 2;
        }
        Console.WriteLine(PasswordHasher.Hash(password));
        return 0;
    }
}
