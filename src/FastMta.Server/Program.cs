using System.Diagnostics.Metrics;
using FastMta.Inbound;
using FastMta.Intake;
using FastMta.Server;
using FastMta.Server.Admin;
using FastMta.Server.Api;
using FastMta.Server.Configuration;
using FastMta.Server.Monitoring;
using Microsoft.AspNetCore.Connections;

if (args is ["hash-password", ..])
{
    return PasswordCommand.Run(args);
}
if (args is ["hash-api-key" or "generate-api-key", ..])
{
    return ApiKeyCommand.Run(args);
}

// Configuration files are read from the application's folder (its embedded defaults travel with the build);
// relative paths in them (Mta:Spool:Path) are relative to the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddMtaConfiguration(builder.Configuration); // Mta:* through the options pattern (Configuration/)
builder.Services.AddSingleton<SpoolService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<SpoolService>()); // before Kestrel: opens first, closes last
builder.Services.AddSingleton<IHealthContributor, SpoolHealth>();
builder.Services.AddSingleton<DeliveryService>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<DeliveryService>()); // after the spool, before Kestrel
builder.Services.AddSingleton<IHealthContributor, DeliveryHealth>(); // 503 while a delivery loop is failed
builder.Services.AddSingleton(TimeProvider.System);
// One intake pipeline for SMTP and the HTTP API (FastMta.Intake); local domains are registered as LocalDomain
// services by whatever owns their mailboxes (none yet), and recipient policies as IRecipientPolicy services, asked
// after the local domains and before the relay rule.
builder.Services.AddSingleton(sp => new IntakePipeline(
    () => sp.GetRequiredService<SpoolService>() is { IsOpen: true } spool ? spool.Spool : null,
    new IntakeOptions
    {
        Hostname = sp.GetRequiredService<MtaSettings>().Inbound.Hostname,
        MaxMessageBytes = sp.GetRequiredService<MtaSettings>().Inbound.MaxMessageBytes,
        IsKnownPool = sp.GetRequiredService<DeliveryService>().IsKnownPool,
    }));
builder.Services.AddSingleton(sp => new LocalDomains(sp.GetServices<LocalDomain>()));
builder.Services.AddSingleton(sp => new SmtpServerContext(sp.GetRequiredService<MtaSettings>().Inbound, () => sp.GetRequiredService<SpoolService>().Spool,
    sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IMeterFactory>())
{
    IsKnownPool = sp.GetRequiredService<DeliveryService>().IsKnownPool,
    Intake = sp.GetRequiredService<IntakePipeline>(),
    RecipientPolicy = RelayRecipientPolicy.Chain(sp.GetRequiredService<LocalDomains>(), sp.GetServices<IRecipientPolicy>()),
});
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
builder.WebHost.ConfigureKestrel(kestrel =>
{
    MtaSettings listeners = kestrel.ApplicationServices.GetRequiredService<MtaSettings>();
    kestrel.AddServerHeader = false;
    foreach (var endpoint in listeners.SmtpEndpoints)
    {
        kestrel.Listen(endpoint, listen => listen.UseConnectionHandler<SmtpConnectionHandler>());
    }
    kestrel.Listen(listeners.HttpEndpoint);
});
// Kestrel would report the SMTP endpoints as http:// addresses ("Now listening on: http://127.0.0.1:2525").
HttpAddressesServer.Register(builder.Services, sp => sp.GetRequiredService<MtaSettings>().SmtpEndpoints);
builder.Services.AddProblemResponses(); // every HTTP error as application/problem+json (Api/ProblemResponses.cs)

// Export our System.Diagnostics.Metrics meters (one per project: FastMta.Inbound, FastMta.Spool, ...), the runtime's and
// the process's on /metrics (Monitoring/PrometheusMetrics.cs).
builder.Services.AddPrometheusMetrics();
builder.Services.AddSingleton<ApiMetrics>(); // the HTTP API's instruments, for endpoints, filters and problem responses
builder.Services.AddSingleton<InjectionSpooler>();
builder.Services.AddSingleton<InjectionLimiter>();
builder.Services.AddOpenApi(); // /openapi/v1.json describes the HTTP API
WebApplication app;
MtaSettings settings;
try
{
    // The host creates Kestrel while it is built, and Kestrel's listeners come from the configuration: Mta:* is bound
    // and validated here (MtaSettings.Create), before anything opens or listens.
    app = builder.Build();
    settings = app.Services.GetRequiredService<MtaSettings>();
}
catch (Exception ex) when (ex is InvalidOperationException or FormatException or IOException
                               or System.Security.Cryptography.CryptographicException)
{
    Console.Error.WriteLine($"fastmta: invalid configuration: {ex.Message}");
    return 2;
}

var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("FastMta.Server");
if (settings.CertificateIsSelfSigned)
{
    log.LogWarning("Mta:Tls:CertificatePath is not set: STARTTLS uses a self-signed certificate generated at start-up");
}
if (settings.Spool.Durability == FastMta.Spool.SpoolDurability.Relaxed)
{
    log.LogWarning("Mta:Spool:Durability is Relaxed: 250 is sent once a message reached the OS page cache, not the disk; acknowledged mail survives a crash of FastMta but not a power loss or kernel crash (for benchmarks, not production)");
}
foreach (string user in settings.PlaintextPasswordUsers)
{
    log.LogWarning("Mta:Auth:Users:{User} holds a plain password; store a hash (`hash-password`) outside development", user);
}

app.UseProblemResponses();
app.MapHealth(settings);
app.MapPrometheusMetrics();
app.MapAdminApi();
app.MapShapingApi();
app.MapInjectionApi();
app.MapOpenApi();

try
{
    await app.StartAsync();
}
catch (Exception ex) when (ex is FastMta.Spool.SpoolLockedException || ex.InnerException is FastMta.Spool.SpoolLockedException)
{
    // Another FastMta has this spool: said on stderr in one line (nothing of the spool was touched).
    Console.Error.WriteLine($"fastmta: {(ex as FastMta.Spool.SpoolLockedException ?? ex.InnerException)!.Message}");
    return 1;
}
catch (Exception ex)
{
    log.LogCritical(ex, "FastMta failed to start");
    return 1;
}
log.LogInformation("FastMta {Hostname} listening for SMTP on {Smtp}, HTTP on {Http}; spool {Spool}", settings.Inbound.Hostname,
    string.Join(", ", settings.SmtpEndpoints.Select(e => $"smtp://{e}")), $"http://{settings.HttpEndpoint}", settings.Spool.Path);
await app.WaitForShutdownAsync();
return 0;
