using Microsoft.Extensions.Logging;

namespace FastMta.Spool;

/// <summary>
/// The logger FasterLog gets for a spool that never had a commit: it passes everything except FASTER's
/// "Unable to recover using any available commit", which there only means "new spool" and would read as a failure.
/// </summary>
internal sealed class NothingToRecoverFilter(ILogger inner) : ILogger
{
    private const string NothingToRecover = "Unable to recover using any available commit";

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (exception is null && logLevel <= LogLevel.Information && formatter(state, null) == NothingToRecover)
        {
            return;
        }

        inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
