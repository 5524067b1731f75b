using FastMta.Server;
using FastMta.Server.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace FastMta.EndToEnd.Tests.Infrastructure;

// The server's configuration registrations (Program's AddMtaConfiguration) over a configuration of the test's,
// resolved and validated as Program does at start-up: in-process, no server started.
internal static class ServerConfiguration
{
    public static ServiceProvider Services(IConfiguration configuration) =>
        new ServiceCollection().AddSingleton(configuration).AddMtaConfiguration(configuration).BuildServiceProvider();

    public static MtaSettings Load(IConfiguration configuration) => Services(configuration).GetRequiredService<MtaSettings>();

    public static MtaSettings Load(params (string Key, string Value)[] values) => Load(Build(values));

    public static IConfigurationRoot Build(params (string Key, string Value)[] values) => new ConfigurationBuilder()
        .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();
}
