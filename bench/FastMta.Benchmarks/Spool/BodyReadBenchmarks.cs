using FastMta.Tests.Shared;
using BenchmarkDotNet.Attributes;
using FastMta.Spool;
using Microsoft.Extensions.Logging.Abstractions;

namespace FastMta.Benchmarks.Spool;

/// <summary>
/// The spool's side of one delivery attempt: open the body of a queued message, read it piece by piece as the
/// outbound client sends it, dispose it. The messages have three recipients with parameters, as bulk mail does, so
/// that re-reading the envelope's strings would show; 10 KiB bodies are inline in the envelope, 600 KiB ones span
/// chunks. The log pages are in memory (a recently received message), so this measures the spool's own cost.
/// </summary>
[MemoryDiagnoser]
public class BodyReadBenchmarks
{
    private const int Messages = 64;

    private readonly List<SpooledEnvelope> _envelopes = [];
    private string _directory = string.Empty;
    private MessageSpool _spool = null!;

    [Params(10 * 1024, 600 * 1024)]
    public int BodySize { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _directory = Path.Combine(Path.GetTempPath(), "fastmta-spool-bench", Guid.NewGuid().ToString("N"));
        _spool = await MessageSpool.OpenAsync(new SpoolOptions { Path = _directory }, NullLogger.Instance, TestMeters.Create());
        _spool.SetCommitListener(new Collector(_envelopes));
        byte[] body = new byte[BodySize];
        new Random(42).NextBytes(body);
        using MessageWriter writer = _spool.CreateWriter();
        for (int i = 0; i < Messages; i++)
        {
            writer.Reset();
            writer.SetSender("newsletter+bounce-1234@lists.sender.example"u8, "SIZE=48213 BODY=8BITMIME"u8);
            writer.AddRecipient("first.recipient@destination.example"u8, "NOTIFY=FAILURE,DELAY ORCPT=rfc822;first.recipient@destination.example"u8);
            writer.AddRecipient("second.recipient@destination.example"u8, "NOTIFY=NEVER"u8);
            writer.AddRecipient("third.recipient@destination.example"u8, default);
            writer.SetOrigin("192.0.2.1", "client.sender.example", null, "ESMTPS");
            for (int offset = 0; offset < body.Length; offset += 8192)
            {
                int n = Math.Min(8192, body.Length - offset);
                body.AsSpan(offset, n).CopyTo(writer.GetSpan(n));
                writer.Advance(n);
                await writer.FlushAsync(CancellationToken.None);
            }

            await writer.CommitAsync(CancellationToken.None);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _spool.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<long> OpenAndReadBody()
    {
        long total = 0;
        foreach (SpooledEnvelope envelope in _envelopes)
        {
            using MessageBody body = await _spool.OpenBodyAsync(envelope, CancellationToken.None);
            while (true)
            {
                ReadOnlyMemory<byte> piece = await body.ReadAsync(CancellationToken.None);
                if (piece.IsEmpty)
                {
                    break;
                }

                total += piece.Length;
            }
        }

        return total;
    }

    private sealed class Collector(List<SpooledEnvelope> envelopes) : ISpoolCommitListener
    {
        public void OnMessageCommitted(SpooledEnvelope envelope) => envelopes.Add(envelope);
    }
}
