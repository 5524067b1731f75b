using FastMta.Fuzz;
using SharpFuzz;

// The AFL++ harness. Under afl-fuzz (perf-scripts/fuzz.sh): `dotnet FastMta.Fuzz.dll TARGET`, one input per
// execution on stdin, many executions per process (SharpFuzz's fork-server loop); an exception is a crash.
// By hand: `dotnet FastMta.Fuzz.dll TARGET FILE...` runs each file once and prints what it found.
if (args.Length == 0 || !FuzzTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: FastMta.Fuzz TARGET [FILE...]   TARGET: {string.Join(" | ", FuzzTargets.Names)}");
    return 2;
}

string target = args[0];
if (args.Length > 1)
{
    int failed = 0;
    foreach (string file in args[1..])
    {
        try
        {
            FuzzTargets.Run(target, File.ReadAllBytes(file));
            Console.WriteLine($"ok     {file}");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"FAILED {file}: {e.GetType().Name}: {e.Message}");
            Console.WriteLine(e.StackTrace);
        }
    }

    return failed == 0 ? 0 : 1;
}

var buffer = new MemoryStream();
Fuzzer.Run(stream =>
{
    buffer.SetLength(0);
    stream.CopyTo(buffer);
    FuzzTargets.Run(target, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;
