using System.CommandLine;
using FastMta.Api.Contracts;

namespace FastMta.Cli.Commands;

/// <summary>`queue`, `messages`, `message`, `retry`: reading the queue and making deferred mail due now.</summary>
internal static class QueueCommands
{
    public static Command Summary()
    {
        var limit = LimitOption("Most destinations to list (largest first).");
        var command = new Command("queue", "Queued recipients by state, in total and per destination domain.") { limit };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.GetAsync(AdminClient.Query("api/v1/queue", ("limit", parsed.GetValue(limit))), ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var summary = AdminClient.Read<QueueSummary>(json);
            // The summary cannot tell "suspended until resumed" from "not suspended" (both null): ask for the list.
            var suspensions = AdminClient.Read<List<SuspensionResponse>>(await cli.Client.GetAsync("api/v1/destinations/suspended", ct))
                .ToDictionary(s => s.Domain, s => s.Until, StringComparer.OrdinalIgnoreCase);
            Write(summary, suspensions, DateTimeOffset.UtcNow);
            return CliContext.Ok;
        }));
        return command;
    }

    public static Command Messages()
    {
        var domain = new Option<string?>("--domain") { Description = "Only messages with recipients queued for this domain.", HelpName = "DOMAIN" };
        var limit = LimitOption("Most messages to list (oldest first; the server's default is 100).");
        var command = new Command("messages", "Live messages, oldest first.") { domain, limit };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.GetAsync(
                AdminClient.Query("api/v1/queue/messages", ("domain", parsed.GetValue(domain)), ("limit", parsed.GetValue(limit))), ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var messages = AdminClient.Read<List<QueuedMessageInfo>>(json);
            if (messages.Count == 0)
            {
                CliContext.Out.WriteLine(parsed.GetValue(domain) is { } d ? $"No live messages for {d}." : "No live messages.");
                return CliContext.Ok;
            }

            DateTimeOffset now = DateTimeOffset.UtcNow;
            var table = new TableWriter("id", "received", TableColumn.Number("size"), "sender", TableColumn.Number("recipients"), "states");
            foreach (QueuedMessageInfo m in messages)
            {
                string states = string.Join(", ", m.Recipients.GroupBy(r => r.Status).Select(g => $"{g.Count()} {g.Key}"));
                table.AddRow(m.Id, Format.Time(m.ReceivedAt, now), Format.Size(m.Size), m.Sender.Length == 0 ? "<>" : m.Sender,
                    Format.Number(m.Recipients.Count), states);
            }

            table.Write(CliContext.Out);
            return CliContext.Ok;
        }));
        return command;
    }

    public static Command Message()
    {
        var id = new Argument<string>("id") { Description = "The queue id (as in '250 2.0.0 Ok: queued as <id>')." };
        var command = new Command("message", "One live message and every recipient's state.") { id };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.GetAsync($"api/v1/queue/messages/{Uri.EscapeDataString(parsed.GetValue(id)!)}", ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            var m = AdminClient.Read<QueuedMessageInfo>(json);
            DateTimeOffset now = DateTimeOffset.UtcNow;
            TextWriter o = CliContext.Out;
            o.WriteLine($"id:        {m.Id}");
            o.WriteLine($"sender:    {(m.Sender.Length == 0 ? "<> (a bounce)" : m.Sender)}");
            o.WriteLine($"received:  {Format.Time(m.ReceivedAt, now)}");
            o.WriteLine($"size:      {Format.Size(m.Size)} ({m.Size} bytes)");
            o.WriteLine($"pool:      {m.Pool ?? Format.None}");
            o.WriteLine();
            var table = new TableWriter("recipient", "domain", "status", TableColumn.Number("attempts"), "next attempt");
            foreach (QueuedRecipientInfo r in m.Recipients)
            {
                table.AddRow(r.Address, r.Domain, r.Status, Format.Number(r.Attempts), Format.Time(r.NextAttempt, now));
            }

            table.Write(o);
            return CliContext.Ok;
        }));
        return command;
    }

    public static Command Retry()
    {
        var domain = new Option<string?>("--domain") { Description = "Only this domain's deferred recipients.", HelpName = "DOMAIN" };
        var command = new Command("retry", "Makes deferred recipients (of one domain, or all) due now.") { domain };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            string json = await cli.Client.PostAsync(AdminClient.Query("api/v1/queue/retry", ("domain", parsed.GetValue(domain))), ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            int count = AdminClient.Read<RetryResponse>(json).Recipients;
            string scope = parsed.GetValue(domain) is { } d ? $" for {d}" : "";
            CliContext.Out.WriteLine($"{Format.Plural(count, "deferred recipient", "deferred recipients")}{scope} made due now.");
            return CliContext.Ok;
        }));
        return command;
    }

    private static void Write(QueueSummary s, Dictionary<string, DateTimeOffset?> suspensions, DateTimeOffset now)
    {
        TextWriter o = CliContext.Out;
        o.WriteLine($"{Format.Plural(s.Messages, "message", "messages")} queued; recipients: {s.Pending} pending, {s.InFlight} in flight, "
                    + $"{s.Deferred} deferred; {Format.Plural(s.DestinationCount, "destination", "destinations")}"
                    + (s.Destinations.Count < s.DestinationCount ? $" (largest {s.Destinations.Count} shown)" : ""));
        if (s.Destinations.Count == 0)
        {
            return;
        }

        o.WriteLine();
        var table = new TableWriter("domain", TableColumn.Number("messages"), TableColumn.Number("pending"), TableColumn.Number("in flight"),
            TableColumn.Number("deferred"), TableColumn.Number("active"), "next attempt", "suspended until");
        foreach (DestinationSummary d in s.Destinations)
        {
            string suspended = suspensions.TryGetValue(d.Domain, out DateTimeOffset? until)
                ? until is null ? "until resumed" : Format.Time(until, now)
                : Format.None;
            table.AddRow(d.Domain, Format.Number(d.Messages), Format.Number(d.Pending), Format.Number(d.InFlight), Format.Number(d.Deferred),
                Format.Number(d.ActiveAttempts), Format.Time(d.NextAttempt, now), suspended);
        }

        table.Write(o);
    }

    private static Option<int?> LimitOption(string description) => new("--limit")
    {
        Description = description,
        HelpName = "N",
        Validators = { r => { if (r.GetValueOrDefault<int?>() is < 1) { r.AddError("--limit must be at least 1."); } } },
    };
}
