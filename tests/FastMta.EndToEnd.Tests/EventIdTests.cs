using System.Reflection;
using Microsoft.Extensions.Logging;

namespace FastMta.EndToEnd.Tests;

// Every LoggerMessage event id of the server's assemblies is unique and inside its project's range (README,
// Monitoring, "Event ids"): a filter or alert on an id means one event of one project.
public sealed class EventIdTests
{
    private static readonly (Assembly Assembly, int First, int Last)[] Ranges =
    [
        (typeof(FastMta.Spool.MessageSpool).Assembly, 1000, 1999),
        (typeof(FastMta.Queue.QueueManager).Assembly, 2000, 2999),
        (typeof(FastMta.Shaping.TrafficShaper).Assembly, 3000, 3999),
        (typeof(FastMta.Outbound.SmtpDeliveryAgent).Assembly, 4000, 4999),
        (typeof(FastMta.Inbound.SmtpServerContext).Assembly, 5000, 5999),
        (typeof(FastMta.Server.Webhooks.WebhookPublisher).Assembly, 6000, 6999),
    ];

    [Fact]
    public void Every_event_id_is_unique_and_in_its_projects_range()
    {
        var seen = new Dictionary<int, string>();
        var problems = new List<string>();
        foreach ((Assembly assembly, int first, int last) in Ranges)
        {
            foreach ((string method, int id) in EventIds(assembly))
            {
                if (id < first || id > last)
                {
                    problems.Add($"{method}: event id {id} is outside {assembly.GetName().Name}'s range {first}-{last}");
                }

                if (!seen.TryAdd(id, method))
                {
                    problems.Add($"{method}: event id {id} is {seen[id]}'s too");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
        Assert.True(seen.Count > 50, $"only {seen.Count} events found: is LoggerMessageAttribute still read?");
    }

    private static IEnumerable<(string Method, int Id)> EventIds(Assembly assembly) =>
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select ($"{type.FullName}.{method.Name}", attribute.EventId);
}
