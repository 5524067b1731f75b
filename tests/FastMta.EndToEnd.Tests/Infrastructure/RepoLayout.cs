namespace FastMta.EndToEnd.Tests.Infrastructure;

// Where the server binary lives: <repo>/src/FastMta.Server/bin/<Configuration>/<tfm>/FastMta.Server.dll, built with the
// same configuration as this test assembly (read from its own path: .../bin/<Configuration>/<tfm>/).
public static class RepoLayout
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string RepositoryRoot => Root.Value;

    public static string Configuration
    {
        get
        {
            string[] segments = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)
                .Split(Path.DirectorySeparatorChar);
            int bin = Array.LastIndexOf(segments, "bin");
            return bin >= 0 && bin + 1 < segments.Length ? segments[bin + 1] : "Release";
        }
    }

    public static string TargetFramework =>
        new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;

    public static string ServerDll
    {
        get
        {
            string path = Path.Combine(RepositoryRoot, "src", "FastMta.Server", "bin", Configuration, TargetFramework,
                "FastMta.Server.dll");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException(
                    $"The server is not built at {path}; build the solution with -c {Configuration} first.", path);
        }
    }

    // The `fastmta` admin CLI, built next to the server (the test project references it without using its assembly).
    public static string CliDll
    {
        get
        {
            string path = Path.Combine(RepositoryRoot, "src", "FastMta.Cli", "bin", Configuration, TargetFramework, "fastmta.dll");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException(
                    $"The CLI is not built at {path}; build the solution with -c {Configuration} first.", path);
        }
    }

    public static string ScriptPath(string name) => Path.Combine(AppContext.BaseDirectory, "Scripts", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastMta.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"FastMta.sln not found above {AppContext.BaseDirectory}.");
    }
}
