using SoftPrompt.Cli.Fuzzing;
using SoftPrompt.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Robustness;

/// <summary>Mutated files of every format end in a load or one clear error naming the file — never a crash.</summary>
public class FuzzTests(ITestOutputHelper output)
{
    private void Fuzz(int casesPerFormat, int seed)
    {
        using var work = new TempDirectory();
        var fuzzer = new FormatFuzzer(seed, work.Path);
        var targets = FormatFuzzer.StandardTargets(Path.Combine(AppContext.BaseDirectory, "fixtures"),
            SharedModels.TinyStoriesPath);
        Assert.True(targets.Count >= 7);
        foreach (var target in targets)
        {
            var results = fuzzer.Run(target, casesPerFormat).ToList();
            output.WriteLine($"{target.Format}: {results.Count(r => r.Outcome == FuzzOutcome.Loaded)} loaded, " +
                             $"{results.Count(r => r.Outcome == FuzzOutcome.Rejected)} rejected");
            var bad = results.Where(r => r.Outcome is FuzzOutcome.Crashed or FuzzOutcome.Overallocated).ToList();
            Assert.True(bad.Count == 0,
                $"{target.Format}: {bad.Count} failures, e.g. {bad.FirstOrDefault()?.Mutation}: " +
                $"{bad.FirstOrDefault()?.Message}");
            Assert.Contains(results, r => r.Outcome == FuzzOutcome.Rejected); // the mutations do reach the checks
        }
    }

    [Fact]
    public void The_harness_reports_crashes_unnamed_errors_and_overallocation()
    {
        using var work = new TempDirectory();
        var fuzzer = new FormatFuzzer(1, work.Path);
        FuzzOutcome Outcome(Action<string> load) =>
            fuzzer.Run(new FormatFuzzer.Target("t", new byte[] { 1, 2, 3, 4 }, "f.bin", load, IsJson: false),
                1).Single().Outcome;
        Assert.Equal(FuzzOutcome.Crashed, Outcome(_ => throw new NullReferenceException()));
        Assert.Equal(FuzzOutcome.Crashed, Outcome(_ => throw new InvalidDataException("bad header")));
        Assert.Equal(FuzzOutcome.Rejected, Outcome(path => throw new InvalidDataException($"{path}: bad header")));
        Assert.Equal(FuzzOutcome.Overallocated, Outcome(_ => GC.KeepAlive(new byte[64 << 20])));
        Assert.Equal(FuzzOutcome.Loaded, Outcome(_ => { }));
    }

    [Fact]
    public void Every_format_survives_mutated_inputs() => Fuzz(casesPerFormat: 40, seed: 7);

    [Fact]
    [Trait("Category", "Slow")]
    public void Every_format_survives_many_mutated_inputs() => Fuzz(casesPerFormat: 2000, seed: 11);
}
