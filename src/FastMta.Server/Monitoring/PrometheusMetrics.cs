using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace FastMta.Server.Monitoring;

/// <summary>
/// GET /metrics: every "FastMta.*" meter, the .NET runtime's ("System.Runtime") and the process's, through
/// OpenTelemetry's Prometheus exporter. The exporter turns "fastmta.queue.messages" into "fastmta_queue_messages",
/// appends the unit ("s" -> "_seconds", "By" -> "_bytes"; "{message}" is a comment and adds nothing) and "_total" to
/// counters; our instrument names are chosen for the names that come out (see README, "Monitoring").
/// </summary>
internal static class PrometheusMetrics
{
    public const string Path = "/metrics";

    // Prometheus' classic text format, what `promtool check metrics` lints and the end-to-end test checks.
    private const string ClassicFormat = "text/plain; version=0.0.4";

    // Runtime and process gauges whose OpenTelemetry names end in "_count", which Prometheus reserves for histogram
    // and summary series (promtool flags them): renamed the way Prometheus' own client libraries name them.
    private static readonly (string Instrument, string Name)[] Renames =
    [
        ("dotnet.assembly.count", "dotnet.assemblies.loaded"),
        ("dotnet.process.cpu.count", "dotnet.process.cpus"),
        ("dotnet.timer.count", "dotnet.timers.active"),
        ("process.thread.count", "process.threads"),
        ("process.unix.file_descriptor.count", "process.open_fds"),
    ];

    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services)
    {
        // The IMeterFactory every FastMta metrics class creates its meter with (the host registers it too; this says
        // so where the meters are exported). The exporter below listens by meter name, whoever created the meter.
        services.AddMetrics();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("fastmta"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter("FastMta.*").AddRuntimeInstrumentation().AddProcessInstrumentation();
                foreach (var (instrument, name) in Renames)
                {
                    metrics.AddView(instrument, name);
                }
                metrics.AddPrometheusExporter(options =>
                {
                    options.ScrapeEndpointPath = Path;
                    // Our metric names are unique across meters: no otel_scope_* labels on every series.
                    options.ScopeInfoEnabled = false;
                });
            });
        return services;
    }

    /// <summary>Maps the scrape endpoint. It always answers in the classic text format (text/plain; version=0.0.4):
    /// Prometheus asks for OpenMetrics first, and the exporter's OpenMetrics output is a second format we would
    /// otherwise have to lint and test as well.</summary>
    public static void MapPrometheusMetrics(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            if (context.Request.Path.Equals(Path, StringComparison.Ordinal))
            {
                context.Request.Headers.Accept = ClassicFormat;
            }
            return next(context);
        });
        app.MapPrometheusScrapingEndpoint(Path);
    }
}
