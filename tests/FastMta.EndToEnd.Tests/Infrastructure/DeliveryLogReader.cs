using System.Text.Json;

namespace FastMta.EndToEnd.Tests.Infrastructure;

/// <summary>One line of the server's JSON Lines delivery log, as tests read it.</summary>
public sealed record LoggedEvent(string Type, string MessageId, string Sender, string? Recipient, string? Domain,
    string? RemoteHost, string? RemoteAddress, int? ReplyCode, string? EnhancedStatus, string? Response, int Attempt);

public static class DeliveryLogReader
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    /// <summary>Every complete line written so far (the log is appended in whole lines).</summary>
    public static IReadOnlyList<LoggedEvent> Read(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var events = new List<LoggedEvent>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                events.Add(JsonSerializer.Deserialize<LoggedEvent>(line, Options)
                           ?? throw new InvalidDataException("null event line: " + line));
            }
        }

        return events;
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the log; fails with the log's content otherwise.</summary>
    public static async Task<IReadOnlyList<LoggedEvent>> WaitAsync(ServerProcess server, Func<IReadOnlyList<LoggedEvent>, bool> condition,
        string what, TimeSpan? timeout = null)
    {
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            IReadOnlyList<LoggedEvent> events = Read(server.DeliveryLogPath);
            if (condition(events))
            {
                return events;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw server.Failure($"Timed out waiting until {what}. Delivery log:\n" +
                                     string.Join("\n", events.Select(e => e.ToString())));
            }

            await Task.Delay(50);
        }
    }
}
