namespace FastMta.EndToEnd.Tests.Infrastructure;

// One server process shared by the tests of a class (xunit class fixture). For tests that only talk SMTP: a test
// that needs to read the spool must stop the server, so it starts its own.
public abstract class ServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("The fixture's server is not running.");

    protected abstract IEnumerable<string> Settings { get; }

    public Task<RawSmtpClient> ConnectAsync() => RawSmtpClient.ConnectAsync(Server);

    public async Task InitializeAsync() => _server = await ServerProcess.StartAsync(Settings);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

// Small limits and an AUTH user, STARTTLS required for AUTH: the protocol and error-path tests run against this.
public sealed class LimitsServerFixture : ServerFixture
{
    public const int MaxMessageBytes = 10_000;
    public const int MaxRecipients = 3;
    public const int MaxErrors = 5;

    protected override IEnumerable<string> Settings =>
    [
        $"Mta:Limits:MaxMessageBytes={MaxMessageBytes}",
        $"Mta:Limits:MaxRecipients={MaxRecipients}",
        $"Mta:Limits:MaxErrors={MaxErrors}",
        "Mta:Auth:Users:alice=secret",
    ];
}
