using System.Diagnostics.Metrics;
using FastMta.Spool;

namespace FastMta.Server;

// Opens (recovers and verifies) the spool before Kestrel starts listening and closes it after Kestrel has drained:
// hosted services registered before the server start first and stop last. A spool that fails verification stops
// start-up: better no relay than one that silently lost its queue.
internal sealed class SpoolService(MtaSettings settings, ILogger<SpoolService> logger, IMeterFactory meters) : IHostedService
{
    private MessageSpool? _spool;

    public bool IsOpen => _spool is not null;

    public MessageSpool Spool => _spool ?? throw new InvalidOperationException("The spool is not open.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _spool = await MessageSpool.OpenAsync(settings.Spool, logger, meters, cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_spool is not null)
        {
            await _spool.DisposeAsync();
            _spool = null;
        }
    }
}
