using System.Diagnostics;

namespace FastMta.Cli;

/// <summary>
/// While a long request runs (bounce, delete), a spinner and the elapsed seconds on stderr, redrawn in place
/// ("| bouncing slow.test ... 3.2s"), erased when the answer arrives. Nothing at all when stderr is redirected, so
/// scripts and logs see only the result. It does not estimate progress: the API answers once, at the end.
/// </summary>
internal sealed class ElapsedSpinner : IAsyncDisposable
{
    private const string Frames = @"|/-\";
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private ElapsedSpinner(string? what) =>
        _loop = what is null ? Task.CompletedTask : RunAsync(what, _stop.Token);

    public static ElapsedSpinner Start(string what) => new(Console.IsErrorRedirected ? null : what);

    private static async Task RunAsync(string what, CancellationToken ct)
    {
        var elapsed = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(125));
        int frame = 0, width = 0;
        try
        {
            do
            {
                string line = $"{Frames[frame++ % Frames.Length]} {what} ... {elapsed.Elapsed.TotalSeconds:0.0}s";
                width = Math.Max(width, line.Length);
                await Console.Error.WriteAsync("\r" + line);
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException)
        {
        }

        await Console.Error.WriteAsync("\r" + new string(' ', width) + "\r");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
