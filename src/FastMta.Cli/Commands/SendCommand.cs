using System.CommandLine;
using FastMta.Api.Contracts;

namespace FastMta.Cli.Commands;

/// <summary>`send`: hands one message to the server's injection API (POST /api/v1/messages), which spools it like
/// SMTP does before answering 202 with the queue id. Either the server composes it (--subject/--text) or it is sent
/// as written (--file, an RFC 5322 message).</summary>
internal static class SendCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Envelope sender (and From: when composing).", HelpName = "ADDRESS", Required = true };
        var to = new Option<string[]>("--to") { Description = "A recipient; repeat for more.", HelpName = "ADDRESS", Required = true, Arity = ArgumentArity.OneOrMore };
        var subject = new Option<string?>("--subject") { Description = "Subject of a composed message.", HelpName = "TEXT" };
        var text = new Option<string?>("--text") { Description = "Plain-text body of a composed message.", HelpName = "TEXT" };
        var file = new Option<FileInfo>("--file") { Description = "A complete message (.eml) to send as it is.", HelpName = "message.eml" };
        file.AcceptExistingOnly();
        var command = new Command("send", "Injects a message over the HTTP API (like SMTP, it is queued once it is on disk).")
        {
            from, to, subject, text, file,
        };
        command.SetAction((parsed, ct) => CliContext.RunAsync(parsed, ct, async (cli, ct) =>
        {
            FileInfo? eml = parsed.GetValue(file);
            bool composing = parsed.GetValue(subject) is not null || parsed.GetValue(text) is not null;
            if (eml is not null == composing)
            {
                throw new UsageException("send needs either --subject and --text (the server composes the message) or --file message.eml, not both.");
            }

            var request = new InjectionRequest { From = parsed.GetValue(from)!, Recipients = [.. parsed.GetValue(to)!] };
            request = eml is not null
                ? request with { Content = await File.ReadAllTextAsync(eml.FullName, ct) }
                : request with { Subject = parsed.GetValue(subject) ?? "", Text = parsed.GetValue(text) ?? "" };
            string json = await cli.Client.PostJsonAsync("api/v1/messages", request, ct);
            if (cli.Json)
            {
                CliContext.PrintJson(json);
                return CliContext.Ok;
            }

            CliContext.Out.WriteLine($"Queued as {AdminClient.Read<InjectionAccepted>(json).Id}.");
            return CliContext.Ok;
        }));
        return command;
    }
}
