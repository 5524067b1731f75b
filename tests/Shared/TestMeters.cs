using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace FastMta.Tests.Shared;

/// <summary>
/// The IMeterFactory the server registers (AddMetrics), for tests that build the parts themselves. A new factory per
/// call: a factory hands out one Meter per name, so parts built from one factory share instruments, and tests that run
/// in parallel must not see each other's measurements. Dispose the factory to dispose its meters.
/// </summary>
public static class TestMeters
{
    public static IMeterFactory Create() =>
        new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();
}
