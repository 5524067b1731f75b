using System.Net;
using BenchmarkDotNet.Attributes;
using FastMta.Shaping;

namespace FastMta.Benchmarks.Shaping;

/// <summary>
/// One operation is one shaping decision (TryAdmit, then Release of the lease) on the real clock, from a pool of
/// four weighted sources. Active: a round over 100,000 destinations (default rule, one budget per site), so every
/// decision touches a different (source, site) state. Hot with IdleKeys: decisions over 64 destinations while
/// IdleKeys others hold state and send nothing; equal figures for 0 and 100,000 show an idle destination costs
/// nothing per decision. Refused: a destination out of tokens (the answer carries RetryAt). Allocated should be 0.
/// </summary>
[MemoryDiagnoser]
public class ShapingBenchmarks
{
    private const int Batch = 1024;
    private const int ActiveKeys = 100_000;
    private const int HotKeys = 64;

    private TrafficShaper _shaper = null!;
    private string[] _domains = [];
    private string[] _sites = [];
    private int _cursor;

    [Params(0, 100_000)]
    public int IdleKeys { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new ShapingOptions
        {
            Sources = [.. Enumerable.Range(2, 4).Select(i => new EgressSource { Name = $"ip{i}", Address = IPAddress.Parse($"127.0.0.{i}") })],
            Rules =
            [
                new ShapingRule { Name = "google", Match = new ShapingMatch { MxSuffixes = [".google.com"] }, MessagesPerSecond = 100_000 },
                new ShapingRule { Name = "slow", Match = new ShapingMatch { Domains = ["slow.example"] }, MessagesPerHour = 1 },
            ],
        };
        options.Pools = [new EgressPool { Name = "bulk", Members = [.. options.Sources.Select((s, i) => new PoolMember { SourceName = s.Name, Weight = i + 1 })] }];
        options.DefaultRule.MessagesPerSecond = 1_000_000;
        options.DefaultRule.MaxConnections = 1_000;
        _shaper = new TrafficShaper(options);

        int keys = Math.Max(ActiveKeys, HotKeys + IdleKeys);
        _domains = [.. Enumerable.Range(0, keys).Select(i => $"d{i}.example")];
        _sites = [.. Enumerable.Range(0, keys).Select(i => $"mx1.d{i}.example,mx2.d{i}.example")];
        for (int i = 0; i < keys; i++)
        {
            Admit(i);
        }

        // Leave the slow destination out of tokens for the Refused benchmark.
        _shaper.Release(_shaper.TryAdmit("bulk", "slow.example", "mx.slow.example").Slot);
    }

    [GlobalCleanup]
    public void Cleanup() => _shaper.Dispose();

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Active()
    {
        int granted = 0;
        for (int i = 0; i < Batch; i++)
        {
            granted += Admit(_cursor);
            _cursor = _cursor + 1 == ActiveKeys ? 0 : _cursor + 1;
        }

        return granted;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Hot()
    {
        int granted = 0;
        for (int i = 0; i < Batch; i++)
        {
            granted += Admit(i % HotKeys);
        }

        return granted;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int Refused()
    {
        int refused = 0;
        for (int i = 0; i < Batch; i++)
        {
            refused += _shaper.TryAdmit("bulk", "slow.example", "mx.slow.example").RetryAt is null ? 0 : 1;
        }

        return refused;
    }

    private int Admit(int key)
    {
        Admission admission = _shaper.TryAdmit("bulk", _domains[key], _sites[key]);
        _shaper.Release(admission.Slot);
        return admission.Granted ? 1 : 0;
    }
}
