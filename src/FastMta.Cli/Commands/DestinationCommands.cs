using System.CommandLine;
using System.Globalization;
using FastMta.Api.Contracts;

namespace FastMta.Cli.Commands;

/// <summary>`suspend`, `resume`, `suspended`, `bounce`, `delete`: acting on everything queued for one domain.</summary>
internal static class DestinationCommands
{
    public static Command Suspend()
    {
        var domain = DomainArgument();
        var duration = DurationOption.Create(); // a suspension's length
        var command = new Command("suspend", "Stops new delivery attempts to a domain (running ones finish).") { domain, duration };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string? length = parsed.GetValue(duration)?.ToString("c", CultureInfo.InvariantCulture);
            string json = await cli.Client.PostAsync(
                AdminClient.Query($"api/v1/destinations/{Uri.EscapeDataString(parsed.GetValue(domain)!)}/suspend", ("duration", length)), ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var s = AdminClient.Read<SuspensionResponse>(json);
            CliContext.Out.WriteLine(s.Until is { } until
                ? $"Suspended {s.Domain} until {Format.Time(until, DateTimeOffset.UtcNow)}."
                : $"Suspended {s.Domain} until resumed ('fastmta resume {s.Domain}').");
            return CliContext.Ok;
        }));
        return command;
    }

    public static Command Resume()
    {
        var domain = DomainArgument();
        var command = new Command("resume", "Ends a domain's suspension; its queued mail becomes eligible again.") { domain };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.PostAsync($"api/v1/destinations/{Uri.EscapeDataString(parsed.GetValue(domain)!)}/resume", ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            CliContext.Out.WriteLine($"Resumed {AdminClient.Read<SuspensionResponse>(json).Domain}.");
            return CliContext.Ok;
        }));
        return command;
    }

    public static Command Suspended()
    {
        var command = new Command("suspended", "Suspended domains and when each suspension ends.");
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.GetAsync("api/v1/destinations/suspended", ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var list = AdminClient.Read<List<SuspensionResponse>>(json);
            if (list.Count == 0)
            {
                CliContext.Out.WriteLine("No domain is suspended.");
                return CliContext.Ok;
            }

            DateTimeOffset now = DateTimeOffset.UtcNow;
            var table = new TableWriter("domain", "until");
            foreach (SuspensionResponse s in list.OrderBy(s => s.Domain, StringComparer.Ordinal))
            {
                table.AddRow(s.Domain, s.Until is null ? "until resumed" : Format.Time(s.Until, now));
            }

            table.Write(CliContext.Out);
            return CliContext.Ok;
        }));
        return command;
    }

    public static Command Bounce() => FailAll("bounce", bounce: true,
        "Fails every recipient queued for a domain now, with a DSN (bounce) to each sender.");

    public static Command Delete() => FailAll("delete", bounce: false,
        "Removes every recipient queued for a domain now, silently: no DSN, the senders are not told.");

    // bounce and delete differ only in the endpoint and the words; both are irreversible, hence --yes.
    private static Command FailAll(string name, bool bounce, string description)
    {
        var domain = DomainArgument();
        var reason = new Option<string?>("--reason") { Description = "Why (in the delivery log, and in the DSN for bounce).", HelpName = "TEXT" };
        var yes = new Option<bool>("--yes") { Description = "Really do it (it cannot be undone)." };
        var command = new Command(name, description) { domain, reason, yes };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string target = parsed.GetValue(domain)!;
            string effect = bounce
                ? $"fail every recipient queued for {target} now and send a DSN to each sender"
                : $"remove every recipient queued for {target} now, without telling the senders (no DSN)";
            if (!parsed.GetValue(yes))
            {
                throw new UsageException($"refusing to {name} without --yes: it would {effect}. This cannot be undone; "
                                         + $"see what is queued with 'fastmta messages --domain {target}', then run again with --yes.");
            }

            string json;
            await using (ElapsedSpinner.Start($"{(bounce ? "bouncing" : "deleting")} mail for {target}"))
            {
                json = await cli.Client.PostAsync(
                    AdminClient.Query($"api/v1/destinations/{Uri.EscapeDataString(target)}/{name}", ("reason", parsed.GetValue(reason))), ct);
            }

            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var outcome = AdminClient.Read<AdminOutcome>(json);
            CliContext.Out.WriteLine($"{(bounce ? "Bounced" : "Deleted")} {Format.Plural(outcome.Recipients, "recipient", "recipients")} in "
                                     + $"{Format.Plural(outcome.Messages, "message", "messages")} for {target}"
                                     + (bounce && outcome.Recipients > 0 ? "; DSNs queued to the senders." : "."));
            if (outcome.SkippedInFlight > 0)
            {
                CliContext.Out.WriteLine($"{Format.Plural(outcome.SkippedInFlight, "recipient was", "recipients were")} in flight and left alone; "
                                         + $"suspend {target} first, or run this again when the attempts finish.");
            }

            return CliContext.Ok;
        }));
        return command;
    }

    private static Argument<string> DomainArgument() => new("domain") { Description = "The destination domain (the part after @)." };
}
