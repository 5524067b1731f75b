namespace FastMta.Spool.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public async Task ConcurrentWritersShareCommitsAndAllMessagesSurviveReopen()
    {
        const int Writers = 16;
        const int PerWriter = 50;
        using var temp = new TempSpool(chunkSize: 16 * 1024);
        var expected = new System.Collections.Concurrent.ConcurrentDictionary<SpoolMessageId, int>();
        await using (MessageSpool spool = await temp.OpenAsync())
        {
            Task[] tasks = new Task[Writers];
            for (int w = 0; w < Writers; w++)
            {
                int writerIndex = w;
                tasks[w] = Task.Run(async () =>
                {
                    for (int i = 0; i < PerWriter; i++)
                    {
                        int length = (writerIndex * 7919 + i * 104729) % 40_000;
                        SpoolMessageId id = await TempSpool.WriteAsync(spool, TempSpool.Body(length, writerIndex * 1000 + i), piece: 3000);
                        Assert.True(expected.TryAdd(id, writerIndex * 1000 + i));
                    }
                });
            }

            await Task.WhenAll(tasks);
            Assert.Equal(Writers * PerWriter, spool.Metrics.MessagesCommitted);
            Assert.True(spool.CommitsIssued < Writers * PerWriter, $"{spool.CommitsIssued} commits for {Writers * PerWriter} messages: group commit did not group");
        }

        await using (MessageSpool spool = await temp.OpenAsync())
        {
            var seen = new HashSet<SpoolMessageId>();
            long previousAddress = -1;
            await foreach (SpooledMessage message in spool.ReadMessagesAsync())
            {
                Assert.True(seen.Add(message.Id), "message returned twice");
                Assert.True(expected.TryGetValue(message.Id, out int seed));
                int writerIndex = seed / 1000;
                int i = seed % 1000;
                int length = (writerIndex * 7919 + i * 104729) % 40_000;
                Assert.True(message.Body.Span.SequenceEqual(TempSpool.Body(length, seed)));
                Assert.True(message.LogAddress > previousAddress);
                previousAddress = message.LogAddress;
            }

            Assert.Equal(Writers * PerWriter, seen.Count);
        }
    }
}
