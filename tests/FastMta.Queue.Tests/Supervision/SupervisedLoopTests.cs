using FastMta.Tests.Shared;
using System.Diagnostics;
using FastMta.Queue;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace FastMta.Queue.Tests.Supervision;

// The supervisor of the delivery path's background loops: restarts with growing backoff, a health
// problem from the failure until the restarted body makes progress, a stop that cuts the backoff short.
public sealed class SupervisedLoopTests
{
    [Fact]
    public void Backoff_doubles_from_half_a_second_to_at_most_30_seconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(0.5), SupervisedLoop.Backoff(1));
        Assert.Equal(TimeSpan.FromSeconds(1), SupervisedLoop.Backoff(2));
        Assert.Equal(TimeSpan.FromSeconds(16), SupervisedLoop.Backoff(6));
        Assert.Equal(TimeSpan.FromSeconds(30), SupervisedLoop.Backoff(7));
        Assert.Equal(TimeSpan.FromSeconds(30), SupervisedLoop.Backoff(int.MaxValue));
    }

    [Fact]
    public async Task A_body_that_throws_is_restarted_with_backoff_and_reported_until_it_makes_progress()
    {
        // On a manual clock: each backoff passes only when the test advances time, so a loaded machine cannot run
        // the body twice before the first failure is checked.
        var clock = new FakeTimeProvider();
        using var stop = new CancellationTokenSource();
        var progressed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var ran = new SemaphoreSlim(0);
        int runs = 0;
        var loop = new SupervisedLoop("test", "test loop", async (self, token) =>
        {
            int run = Interlocked.Increment(ref runs);
            ran.Release();
            if (run <= 3)
            {
                throw new InvalidOperationException($"failure {run}");
            }

            self.Progress();
            progressed.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
        }, NullLogger.Instance, new LoopMetrics(TestMeters.Create()), clock);

        DateTimeOffset started = clock.GetUtcNow();
        Task running = loop.RunAsync(stop.Token);
        Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(10)));
        var problems = await ProblemsOnceReportedAsync(loop);
        Assert.Contains("test loop loop failed (1 time(s) in a row", Assert.Single(problems));
        Assert.Contains("InvalidOperationException: failure 1", problems[0]);

        // Backoff 0.5 s, then 1 s, then 2 s before the fourth run; nothing runs before its backoff has passed.
        foreach (TimeSpan backoff in new[] { TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2) })
        {
            clock.Advance(backoff - TimeSpan.FromMilliseconds(10));
            Assert.False(await ran.WaitAsync(TimeSpan.FromMilliseconds(100)));
            clock.Advance(TimeSpan.FromMilliseconds(10));
            Assert.True(await ran.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        await progressed.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(3.5), clock.GetUtcNow() - started);
        Assert.Equal(3, loop.Restarts);
        problems.Clear();
        loop.AddProblems(problems);
        Assert.Empty(problems);

        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
    }

    // The failure is recorded just after the body throws, on the loop's own task: wait (bounded) until it shows.
    private static async Task<List<string>> ProblemsOnceReportedAsync(SupervisedLoop loop)
    {
        var problems = new List<string>();
        for (int i = 0; i < 1000 && problems.Count == 0; i++)
        {
            loop.AddProblems(problems);
            if (problems.Count == 0)
            {
                await Task.Delay(10);
            }
        }

        return problems;
    }

    [Fact]
    public async Task Stopping_cuts_the_backoff_short_and_RunAsync_does_not_throw()
    {
        using var stop = new CancellationTokenSource();
        int runs = 0;
        var loop = new SupervisedLoop("test", "test loop", (_, _) =>
        {
            Interlocked.Increment(ref runs);
            throw new InvalidOperationException("always");
        }, NullLogger.Instance, new LoopMetrics(TestMeters.Create()));

        Task running = loop.RunAsync(stop.Token);
        await Task.Delay(2000); // runs at 0 and 0.5 s, then waits 1 s, then 2 s
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(Volatile.Read(ref runs), 2, 4);
    }

    [Fact]
    public async Task A_body_runs_once_even_when_already_stopped_so_that_it_can_drain()
    {
        using var stop = new CancellationTokenSource();
        await stop.CancelAsync();
        bool ran = false;
        var loop = new SupervisedLoop("test", "test loop", (_, _) => { ran = true; return Task.CompletedTask; }, NullLogger.Instance, new LoopMetrics(TestMeters.Create()));
        await loop.RunAsync(stop.Token).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(ran);
    }

    [Fact]
    public void TimerSpan_clamps_every_wait_to_what_a_timer_takes()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(4294967294), TimerSpan.Max);
        Assert.Equal(TimerSpan.Max, TimerSpan.Clamp(TimeSpan.MaxValue));
        Assert.Equal(TimerSpan.Max, TimerSpan.Clamp(TimeSpan.FromDays(50)));
        Assert.Equal(TimeSpan.FromDays(40), TimerSpan.Clamp(TimeSpan.FromDays(40)));
        Assert.Equal(TimeSpan.Zero, TimerSpan.Clamp(TimeSpan.FromSeconds(-5)));
        Assert.Equal(Timeout.InfiniteTimeSpan, TimerSpan.Clamp(Timeout.InfiniteTimeSpan));
        Assert.Equal(TimerSpan.Max, TimerSpan.FromMilliseconds(long.MaxValue));
        Assert.Equal(TimeSpan.Zero, TimerSpan.FromMilliseconds(long.MinValue));

        // Each of these throws ArgumentOutOfRangeException with 50 days unclamped.
        using var timer = new Timer(_ => { }, null, TimerSpan.Clamp(TimeSpan.FromDays(50)), Timeout.InfiniteTimeSpan);
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(TimerSpan.Clamp(TimeSpan.FromDays(50)));
        using var periodic = new PeriodicTimer(TimerSpan.Clamp(TimeSpan.FromDays(50)));
        Assert.Throws<ArgumentOutOfRangeException>(() => cts.CancelAfter(TimeSpan.FromDays(50)));
    }

    [Fact]
    public async Task DelayAsync_waits_the_whole_delay()
    {
        var elapsed = Stopwatch.StartNew();
        await TimerSpan.DelayAsync(TimeSpan.FromMilliseconds(300), TimeProvider.System, CancellationToken.None);
        Assert.InRange(elapsed.Elapsed, TimeSpan.FromMilliseconds(280), TimeSpan.FromSeconds(20));
    }
}
