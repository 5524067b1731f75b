using BenchmarkDotNet.Running;

// Run one suite: dotnet run -c Release --project bench/FastMta.Benchmarks -- --filter '*Codec*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
