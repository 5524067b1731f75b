using System.Diagnostics.Metrics;

namespace FastMta.Spool.Tests;

public sealed class MetricsTests
{
    [Fact]
    public async Task InstrumentsArePublishedOnTheSpoolMeter()
    {
        var names = new HashSet<string>();
        long committed = 0;
        using var listener = new MeterListener();
        MessageSpool? mine = null;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "FastMta.Spool")
            {
                lock (names)
                {
                    names.Add(instrument.Name);
                }

                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, state) =>
        {
            if (instrument.Name == "fastmta.spool.messages.committed" && mine is not null)
            {
                Interlocked.Add(ref committed, value);
            }
        });
        listener.Start();

        using var temp = new TempSpool();
        await using (mine = await temp.OpenAsync())
        {
            await TempSpool.WriteAsync(mine, TempSpool.Body(10, 1));
            Assert.Equal(1, mine.Metrics.MessagesCommitted);
            Assert.True(mine.CommitsIssued >= 1);
        }

        Assert.True(Interlocked.Read(ref committed) >= 1);
        string[] expected =
        [
            "fastmta.spool.messages.committed", "fastmta.spool.body.committed", "fastmta.spool.commits",
            "fastmta.spool.commit.duration", "fastmta.spool.commit.messages", "fastmta.spool.commit.failures",
            "fastmta.spool.orphan.chunks.skipped", "fastmta.spool.recovery.duration",
        ];
        lock (names)
        {
            Assert.All(expected, name => Assert.Contains(name, names));
        }
    }

    [Fact]
    public async Task CancelledCallerStopsWaitingAndWriterCanStartOver()
    {
        using var temp = new TempSpool();
        await using MessageSpool spool = await temp.OpenAsync();
        using MessageWriter writer = spool.CreateWriter();
        writer.AddRecipient("a@example.test"u8, default);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.CommitAsync(cts.Token));
        writer.Reset();
        writer.AddRecipient("b@example.test"u8, default);
        await writer.CommitAsync(CancellationToken.None);
        SpooledMessage message = Assert.Single(await TempSpool.ReadAllAsync(spool));
        Assert.Equal("b@example.test", message.Recipients[0].Address);
    }
}
