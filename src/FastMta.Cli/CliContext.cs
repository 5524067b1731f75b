using System.CommandLine;
using System.Text.Json;

namespace FastMta.Cli;

/// <summary>
/// The global options (recursive: they may come before or after the command) and what every command needs from them:
/// an <see cref="AdminClient"/>, the --json switch, and the mapping of failures to exit codes.
/// </summary>
internal sealed class CliContext : IDisposable
{
    public const int Ok = 0;
    public const int Refused = 1;
    public const int UsageError = 2;
    public const int Unreachable = 3;

    public const string DefaultServer = "http://127.0.0.1:8025";

    public static readonly Option<string> ServerOption = new("--server")
    {
        Description = $"The server's admin API base URL (default: $FASTMTA_URL, else {DefaultServer}).",
        HelpName = "URL",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FASTMTA_URL") is { Length: > 0 } url ? url : DefaultServer,
    };

    public static readonly Option<string?> ApiKeyOption = new("--api-key")
    {
        Description = "API key sent as 'Authorization: Bearer <key>' (default: $FASTMTA_API_KEY).",
        HelpName = "KEY",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FASTMTA_API_KEY") is { Length: > 0 } key ? key : null,
    };

    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print the server's JSON answer (indented) instead of a table.",
        Recursive = true,
    };

    public static readonly Option<double> TimeoutOption = new("--timeout")
    {
        Description = "Seconds to wait for the server's answer.",
        HelpName = "SECONDS",
        Recursive = true,
        DefaultValueFactory = _ => 100,
        Validators = { r => { if (r.GetValueOrDefault<double>() is <= 0 or > 86_400) { r.AddError("--timeout must be between 0 and 86400 seconds."); } } },
    };

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private CliContext(AdminClient client, bool json)
    {
        Client = client;
        Json = json;
    }

    public AdminClient Client { get; }

    /// <summary>--json: print the server's answer, not a table.</summary>
    public bool Json { get; }

    public static TextWriter Out => Console.Out;

    public static TextWriter Error => Console.Error;

    /// <summary>Runs one command with the global options applied; turns failures into a message on stderr and an exit code.</summary>
    public static async Task<int> RunAsync(ParseResult parsed, CancellationToken ct, Func<CliContext, CancellationToken, Task<int>> command)
    {
        try
        {
            string server = parsed.GetValue(ServerOption)!;
            if (!Uri.TryCreate(server.EndsWith('/') ? server : server + "/", UriKind.Absolute, out Uri? baseUri)
                || baseUri.Scheme is not ("http" or "https"))
            {
                throw new UsageException($"--server must be an http:// or https:// URL, not '{server}'.");
            }

            using var context = new CliContext(
                new AdminClient(baseUri, parsed.GetValue(ApiKeyOption), TimeSpan.FromSeconds(parsed.GetValue(TimeoutOption))),
                parsed.GetValue(JsonOption));
            return await command(context, ct);
        }
        catch (UsageException ex)
        {
            await Error.WriteLineAsync($"fastmta: {ex.Message}");
            return UsageError;
        }
        catch (ServerRefusedException ex)
        {
            await Error.WriteLineAsync($"fastmta: the server said {ex.Message}");
            return Refused;
        }
        catch (ServerUnreachableException ex)
        {
            await Error.WriteLineAsync($"fastmta: {ex.Message}");
            return Unreachable;
        }
        catch (JsonException ex)
        {
            await Error.WriteLineAsync($"fastmta: the server's answer is not the JSON this CLI expects ({ex.Message}); is the URL a FastMta server of the same version?");
            return Refused;
        }
    }

    /// <summary>The server's JSON as it sent it, indented.</summary>
    public static void PrintJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        Out.WriteLine(JsonSerializer.Serialize(document.RootElement, Indented));
    }

    public void Dispose() => Client.Dispose();
}

/// <summary>A command line that parses but cannot be acted on (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);
