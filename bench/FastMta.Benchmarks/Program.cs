using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

// Run one suite: dotnet run -c Release --project bench/FastMta.Benchmarks -- --filter '*Codec*'
// Suites: *Codec*, *Spool*, *Shaping*, *Scheduling* (the queue), *EndToEnd*. Quick, indicative run: add --job short.
// BenchmarkDotNet rebuilds the project per job; on a busy 2-core machine that takes longer than its default 2-minute
// build timeout, so allow 10.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly)
    .Run(args, ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10)));
