using BenchmarkDotNet.Attributes;
using FastMta.Spool;
using FastMta.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Benchmarks.Spool;

/// <summary>
/// Append + durable group commit through the public writer API, as the SMTP front end uses it. One operation is one
/// message made durable; with 16 writers the messages of one invocation share commits. Numbers depend on the disk's
/// synchronous write rate (FasterLog writes with O_SYNC): compare runs on the same machine only.
/// </summary>
[MemoryDiagnoser]
public class SpoolBenchmarks
{
    private const int MessagesPerWriter = 64;

    private string _directory = string.Empty;
    private MessageSpool _spool = null!;
    private byte[] _body = [];

    [Params(1024, 10 * 1024)]
    public int BodySize { get; set; }

    [Params(1, 16)]
    public int Writers { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "fastmta-spool-bench", Guid.NewGuid().ToString("N"));
        _spool = await MessageSpool.OpenAsync(new SpoolOptions { Path = _directory }, NullLogger.Instance, TestMeters.Create());
        _body = new byte[BodySize];
        new Random(42).NextBytes(_body);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _spool.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = MessagesPerWriter * 16)]
    public Task AppendAndCommit()
    {
        // Same number of messages per invocation whatever the concurrency, so per-op figures compare.
        int perWriter = MessagesPerWriter * 16 / Writers;
        if (Writers == 1)
        {
            return WriteManyAsync(perWriter);
        }

        var tasks = new Task[Writers];
        for (int i = 0; i < tasks.Length; i++)
        {
            tasks[i] = WriteManyAsync(perWriter);
        }

        return Task.WhenAll(tasks);
    }

    private async Task WriteManyAsync(int count)
    {
        await Task.Yield();
        using MessageWriter writer = _spool.CreateWriter();
        for (int i = 0; i < count; i++)
        {
            writer.Reset();
            writer.SetSender("sender@example.test"u8, default);
            writer.AddRecipient("rcpt@example.test"u8, default);
            writer.SetOrigin("192.0.2.1", "client.example.test", null, "ESMTP");
            _body.CopyTo(writer.GetSpan(_body.Length));
            writer.Advance(_body.Length);
            await writer.FlushAsync(CancellationToken.None);
            await writer.CommitAsync(CancellationToken.None);
        }
    }
}
