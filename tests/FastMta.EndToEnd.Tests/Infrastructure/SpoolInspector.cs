using System.Text;
using FastMta.Spool;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// A spooled message copied out of the spool, with its body split into the Received header FastMta prepended and
// the content the client sent.
public sealed record SpoolEntry(
    string Id,
    string Sender,
    string SenderParameters,
    IReadOnlyList<(string Address, string Parameters)> Recipients,
    string ClientAddress,
    string HeloName,
    string? AuthenticatedUser,
    string Protocol,
    DateTimeOffset ReceivedAt,
    byte[] Body,
    string? Pool = null)
{
    public string ReceivedHeader => MessageContent.SplitReceived(Body).Header;

    public byte[] Content => MessageContent.SplitReceived(Body).Content;

    public IReadOnlyList<string> RecipientAddresses => Recipients.Select(r => r.Address).ToList();

    public override string ToString() =>
        $"{Id} from <{Sender}> to {string.Join(", ", Recipients.Select(r => $"<{r.Address}>"))} via {Protocol}" +
        $" (helo {HeloName}, client {ClientAddress}, user {AuthenticatedUser ?? "-"}), {Body.Length} body bytes";
}

// Opens a spool in-process, after the server that used it has exited (never while a server process has it open).
public static class SpoolInspector
{
    public static async Task<IReadOnlyList<SpoolEntry>> ReadAllAsync(string spoolPath)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var entries = new List<SpoolEntry>();
        await using MessageSpool spool = await MessageSpool.OpenAsync(new SpoolOptions { Path = spoolPath }, NullLogger.Instance, TestMeters.Create(), cts.Token);
        await foreach (SpooledMessage m in spool.ReadMessagesAsync(cts.Token))
        {
            entries.Add(new SpoolEntry(m.Id.ToString(), m.Sender, m.SenderParameters,
                m.Recipients.Select(r => (r.Address, r.Parameters)).ToList(), m.ClientAddress, m.HeloName,
                m.AuthenticatedUser, m.Protocol, m.ReceivedAt, m.Body.ToArray(), m.Pool));
        }
        return entries;
    }

    public static string Describe(IEnumerable<SpoolEntry> entries)
    {
        var text = new StringBuilder("--- spool ---\n");
        foreach (SpoolEntry e in entries.Take(50))
        {
            text.Append(e).Append('\n');
        }
        return text.Append("--- end of spool ---").ToString();
    }
}
