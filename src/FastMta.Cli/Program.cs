using System.CommandLine;
using FastMta.Cli;
using FastMta.Cli.Commands;

// fastmta: the admin CLI. Exit codes: 0 ok, 1 the server said no (4xx/5xx), 2 usage error, 3 cannot reach the server.
var root = new RootCommand("fastmta: operate a FastMta server through its HTTP admin API.")
{
    CliContext.ServerOption,
    CliContext.ApiKeyOption,
    CliContext.JsonOption,
    CliContext.TimeoutOption,
    QueueCommands.Summary(),
    QueueCommands.Messages(),
    QueueCommands.Message(),
    QueueCommands.Retry(),
    DestinationCommands.Suspend(),
    DestinationCommands.Resume(),
    DestinationCommands.Suspended(),
    DestinationCommands.Bounce(),
    DestinationCommands.Delete(),
    ShapingCommands.Shaping(),
    ShapingCommands.Source(),
    SendCommand.Create(),
};

ParseResult parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // System.CommandLine would print the errors with the whole help text and exit 1; 1 means "the server said no" here.
    foreach (System.CommandLine.Parsing.ParseError error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync($"fastmta: {error.Message}");
    }

    await Console.Error.WriteLineAsync("Run 'fastmta --help' (or 'fastmta <command> --help') for usage.");
    return CliContext.UsageError;
}

return await parsed.InvokeAsync();
