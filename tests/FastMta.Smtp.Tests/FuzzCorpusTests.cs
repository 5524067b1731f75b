using FastMta.Fuzz;

namespace FastMta.Smtp.Tests;

// Every file of FuzzCorpus/<target>/ - the seeds and every finding perf-scripts/fuzz.sh saved (crash-*, hang-*) -
// through the same target code the fuzzer runs, invariants included. CI runs the corpus, not the fuzzer.
public sealed class FuzzCorpusTests
{
    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "FuzzCorpus");

    public static TheoryData<string, string> CorpusFiles()
    {
        var files = new TheoryData<string, string>();
        foreach (string target in FuzzTargets.Names)
        {
            string directory = Path.Combine(CorpusDirectory, target);
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (string file in Directory.GetFiles(directory).Order(StringComparer.Ordinal))
            {
                files.Add(target, Path.GetFileName(file));
            }
        }

        return files;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void CorpusInputHoldsEveryInvariant(string target, string file)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusDirectory, target, file));
        FuzzTargets.Run(target, input);
    }

    [Fact]
    public void EveryTargetHasSeeds()
    {
        foreach (string target in FuzzTargets.Names)
        {
            string directory = Path.Combine(CorpusDirectory, target);
            Assert.True(Directory.Exists(directory) && Directory.GetFiles(directory, "seed-*").Length > 0, $"no seeds for '{target}'");
        }
    }

    [Fact]
    public void EveryCorpusDirectoryIsATarget()
    {
        foreach (string directory in Directory.GetDirectories(CorpusDirectory))
        {
            Assert.Contains(Path.GetFileName(directory), FuzzTargets.Names);
        }
    }

    [Fact]
    public void AnInvariantFailureIsReportedAsAFinding()
    {
        // The harness fails loudly on a target it does not know, and a finding says which invariant it broke.
        Assert.Throws<ArgumentException>(() => FuzzTargets.Run("no-such-target", []));
        var failure = Assert.Throws<FuzzInvariantException>(() => FuzzInvariantException.Check(false, "the reason"));
        Assert.Equal("the reason", failure.Message);
    }
}
