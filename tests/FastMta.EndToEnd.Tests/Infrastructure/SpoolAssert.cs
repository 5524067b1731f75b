using System.Text;
using Xunit.Sdk;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// Assertions over what a stopped server left in its spool; failures show the spool and the server log.
public static class SpoolAssert
{
    public static void ContentEqual(byte[] expected, byte[] actual, string what, ServerProcess server)
    {
        if (expected.AsSpan().SequenceEqual(actual))
        {
            return;
        }
        int i = 0;
        while (i < expected.Length && i < actual.Length && expected[i] == actual[i])
        {
            i++;
        }
        int from = Math.Max(0, i - 40);
        throw server.Failure(
            $"{what}: stored content differs from what was sent (sent {expected.Length} bytes, stored {actual.Length}); first difference at byte {i}.\n" +
            $"sent:   '{MessageContent.Preview(expected.AsSpan(from, Math.Min(120, expected.Length - from)))}'\n" +
            $"stored: '{MessageContent.Preview(actual.AsSpan(from, Math.Min(120, actual.Length - from)))}'");
    }

    public static SpoolEntry Single(IReadOnlyList<SpoolEntry> spool, Func<SpoolEntry, bool> match, string what, ServerProcess server)
    {
        var found = spool.Where(match).ToList();
        if (found.Count != 1)
        {
            throw server.Failure($"Expected exactly one spooled message {what}, found {found.Count}.\n{SpoolInspector.Describe(spool)}");
        }
        return found[0];
    }

    public static void None(IReadOnlyList<SpoolEntry> spool, Func<SpoolEntry, bool> match, string what, ServerProcess server)
    {
        var found = spool.Where(match).ToList();
        if (found.Count != 0)
        {
            throw server.Failure($"Expected no spooled message {what}, found {found.Count}.\n{SpoolInspector.Describe(spool)}");
        }
    }

    // Envelope and trace header of a message sent by these tests from 127.0.0.1.
    public static void Envelope(SpoolEntry entry, string sender, IReadOnlyList<string> recipients, string helo,
        string protocol, string? user, ServerProcess server)
    {
        var problems = new StringBuilder();
        Check(entry.Sender == sender, $"sender '{entry.Sender}', expected '{sender}'");
        Check(entry.RecipientAddresses.SequenceEqual(recipients),
            $"recipients [{string.Join(", ", entry.RecipientAddresses)}], expected [{string.Join(", ", recipients)}]");
        Check(entry.HeloName == helo, $"HELO name '{entry.HeloName}', expected '{helo}'");
        Check(entry.Protocol == protocol, $"protocol '{entry.Protocol}', expected '{protocol}'");
        Check(entry.AuthenticatedUser == user, $"authenticated user '{entry.AuthenticatedUser}', expected '{user}'");
        Check(entry.ClientAddress == "127.0.0.1", $"client address '{entry.ClientAddress}', expected 127.0.0.1");
        Check(Math.Abs((DateTimeOffset.UtcNow - entry.ReceivedAt).TotalMinutes) < 10, $"received at {entry.ReceivedAt:O}, not now");
        Check(MessageContent.ReceivedPattern(helo, protocol, entry.Id).IsMatch(entry.ReceivedHeader),
            $"Received header '{MessageContent.Preview(Encoding.UTF8.GetBytes(entry.ReceivedHeader))}' is not the expected trace header");
        if (problems.Length > 0)
        {
            throw server.Failure($"Spooled message {entry}:\n{problems}");
        }

        void Check(bool ok, string problem)
        {
            if (!ok)
            {
                problems.Append("  ").Append(problem).Append('\n');
            }
        }
    }

    public static XunitException Fail(string message, IReadOnlyList<SpoolEntry> spool, ServerProcess server) =>
        server.Failure($"{message}\n{SpoolInspector.Describe(spool)}");
}
