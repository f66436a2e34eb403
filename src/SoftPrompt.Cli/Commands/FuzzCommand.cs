using System.CommandLine;
using SoftPrompt.Cli.Fuzzing;

namespace SoftPrompt.Cli.Commands;

/// <summary>`softprompt fuzz`: long fuzzing runs over every file format we read; prints counts per format and
/// outcome.</summary>
public static class FuzzCommand
{
    public static Command Build()
    {
        var cases = new Option<int>("--cases")
        {
            Description = "Mutated files per format",
            DefaultValueFactory = _ => 1000,
        };
        var seed = CommonOptions.Seed();
        var fixtures = new Option<string>("--fixtures")
        {
            Description = "The repository's tests/fixtures",
            DefaultValueFactory = _ => "tests/fixtures",
        };
        var tinyStories = new Option<string?>("--tinystories")
        {
            Description = "A TinyStories model.bin to fuzz as well",
            DefaultValueFactory = _ => "../shared/models/tinystories-260k/model.bin",
        };
        var command = new Command("fuzz",
            "Fuzz every file format softprompt reads; exit 1 if any input crashes or over-allocates.");
        foreach (var o in new Option[] { cases, seed, fixtures, tinyStories }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            string work = Path.Combine(Path.GetTempPath(), $"softprompt-fuzz-{Environment.ProcessId}");
            var fuzzer = new FormatFuzzer(parse.GetValue(seed), work);
            int failures = 0;
            try
            {
                foreach (var target in FormatFuzzer.StandardTargets(parse.GetValue(fixtures)!,
                    parse.GetValue(tinyStories)))
                {
                    var results = fuzzer.Run(target, parse.GetValue(cases)).ToList();
                    var bad = results.Where(r => r.Outcome is FuzzOutcome.Crashed or FuzzOutcome.Overallocated)
                        .ToList();
                    failures += bad.Count;
                    Console.WriteLine(
                        $"{target.Format,-16} {results.Count,6} cases: " +
                        $"{results.Count(r => r.Outcome == FuzzOutcome.Loaded),6} loaded, " +
                                      $"{results.Count(r => r.Outcome == FuzzOutcome.Rejected),6} rejected with a " +
                                          $"clear error, {bad.Count} failures");
                    foreach (var b in bad.Take(5)) Console.WriteLine($"    {b.Mutation}: {b.Outcome}: {b.Message}");
                }
            }
            finally
            {
                if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
            }
            return failures == 0 ? 0 : 1;
        });
        return command;
    }
}
