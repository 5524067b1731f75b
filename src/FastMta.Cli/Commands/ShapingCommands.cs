using System.CommandLine;
using System.Globalization;
using FastMta.Api.Contracts;

namespace FastMta.Cli.Commands;

/// <summary>`shaping` (the traffic shaper's live state) and `source suspend|resume` (egress sources).</summary>
internal static class ShapingCommands
{
    public static Command Shaping()
    {
        var limit = new Option<int?>("--limit")
        {
            Description = "Most budgets to list (by source, rule, key; the server's default is 1000).",
            HelpName = "N",
            Validators = { r => { if (r.GetValueOrDefault<int?>() is < 1) { r.AddError("--limit must be at least 1."); } } },
        };
        var command = new Command("shaping", "Egress sources and every active (source, rule, destination) budget: rate, tokens, connections, warmup.") { limit };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.GetAsync(AdminClient.Query("api/v1/shaping", ("limit", parsed.GetValue(limit))), ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var state = AdminClient.Read<ShapingResponse>(json);
            DateTimeOffset now = DateTimeOffset.UtcNow;
            var sources = new TableWriter("source", "address", "ehlo name", "suspended");
            foreach (SourceResponse s in state.Sources)
            {
                sources.AddRow(s.Name, s.Address ?? Format.None, s.EhloName ?? Format.None,
                    !s.Suspended ? "no" : s.SuspendedUntil is null ? "until resumed" : Format.Time(s.SuspendedUntil, now));
            }

            sources.Write(CliContext.Out);
            CliContext.Out.WriteLine();
            CliContext.Out.WriteLine($"Rules: {string.Join(", ", state.Rules)}");
            if (state.States.Count == 0)
            {
                CliContext.Out.WriteLine("No active destination budget.");
                return CliContext.Ok;
            }

            CliContext.Out.WriteLine();
            var table = new TableWriter("source", "rule", "key", TableColumn.Number("msg/s"), TableColumn.Number("tokens"), "next token",
                TableColumn.Number("connections"), TableColumn.Number("warmup today"), TableColumn.Number("warmup hour"));
            foreach (ShapingState s in state.States)
            {
                table.AddRow(s.Source, s.Rule, s.Key,
                    s.MessagesPerSecond is { } rate ? rate.ToString("0.###", CultureInfo.InvariantCulture) : Format.None,
                    s.TokensAvailable?.ToString(CultureInfo.InvariantCulture) ?? Format.None,
                    s.NextTokenAt is { } next && next > now ? Format.Time(next, now) : Format.None,
                    s.MaxConnections is { } max ? $"{s.ConnectionsInUse}/{max}" : Format.Number(s.ConnectionsInUse),
                    s.WarmupCapToday is { } cap ? $"{s.WarmupSentToday}/{cap}" : Format.None,
                    s.WarmupHourlyCap is { } hourly ? $"{s.WarmupSentThisHour}/{hourly}" : Format.None);
            }

            table.Write(CliContext.Out);
            if (state.ActiveStates > state.States.Count)
            {
                CliContext.Out.WriteLine($"({state.States.Count} of {state.ActiveStates} active budgets shown; --limit N for more)");
            }

            return CliContext.Ok;
        }));
        return command;
    }

    public static Command Source()
    {
        var name = new Argument<string>("name") { Description = "The source's name (Mta:Egress:Sources:<name>)." };
        var duration = DurationOption.Create(); // a suspension's length
        var suspend = new Command("suspend", "Stops new connections from an egress source; its pool's other sources take its share.") { name, duration };
        suspend.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string? length = parsed.GetValue(duration)?.ToString("c", CultureInfo.InvariantCulture);
            string json = await cli.Client.PostAsync(
                AdminClient.Query($"api/v1/sources/{Uri.EscapeDataString(parsed.GetValue(name)!)}/suspend", ("duration", length)), ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var s = AdminClient.Read<SourceSuspensionResponse>(json);
            CliContext.Out.WriteLine(s.Until is { } until
                ? $"Suspended source {s.Source} until {Format.Time(until, DateTimeOffset.UtcNow)}."
                : $"Suspended source {s.Source} until resumed ('fastmta source resume {s.Source}').");
            return CliContext.Ok;
        }));

        var resumeName = new Argument<string>("name") { Description = "The source's name (Mta:Egress:Sources:<name>)." };
        var resume = new Command("resume", "Ends an egress source's suspension.") { resumeName };
        resume.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.PostAsync($"api/v1/sources/{Uri.EscapeDataString(parsed.GetValue(resumeName)!)}/resume", ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            CliContext.Out.WriteLine($"Resumed source {AdminClient.Read<SourceSuspensionResponse>(json).Source}.");
            return CliContext.Ok;
        }));

        return new Command("source", "Suspends or resumes an egress source (traffic shaping).") { suspend, resume };
    }
}
