using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>`softprompt compare` as a process, on tiny task files of each kind: every method of the registry prepares,
/// trains a couple of steps, scores and lands in the Markdown, CSV and SVG reports.</summary>
public class CompareCommandTests
{
    private static async Task<string> Compare(TempDirectory dir, string task, string methods)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "softprompt.dll"), "compare", "--model", SharedModels.TinyStoriesPath,
                     "--task", task, "--data", Path.Combine(dir.Path, "data"), "--methods", methods, "--steps", "2", "--batch", "2",
                     "--prompt-length", "4", "--shots", "2", "--report", dir.File(task + ".md"), "--save-adapters", dir.File("adapters-" + task) })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token);
        Assert.True(process.ExitCode == 0, await stderr);
        return File.ReadAllText(dir.File(task + ".csv"));
    }

    private static void WriteSplits(TempDirectory dir, string task, Func<int, object> row)
    {
        Directory.CreateDirectory(Path.Combine(dir.Path, "data", task));
        foreach (var split in new[] { "train", "validation", "test" })
            File.WriteAllLines(Path.Combine(dir.Path, "data", task, split + ".jsonl"), Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(row(i))));
    }

    private static void AssertRows(string csv, string methods, int metrics, TempDirectory dir, string task)
    {
        var lines = csv.Trim().Split('\n');
        var names = methods.Split(',');
        Assert.Equal(names.Length + 1, lines.Length);
        for (int i = 0; i < names.Length; i++)
        {
            var cells = lines[i + 1].Split(',');
            Assert.Equal(names[i], cells[0]);
            for (int m = 0; m < metrics; m++)
            {
                double value = double.Parse(cells[4 + m], CultureInfo.InvariantCulture);
                Assert.InRange(value, 0, 1);
            }
        }
        var svg = File.ReadAllText(dir.File(task + ".svg"));
        Assert.All(names, n => Assert.Contains($">{n}<", svg));
    }

    [Fact]
    public async Task Every_classification_method_runs_and_reports()
    {
        using var dir = new TempDirectory();
        WriteSplits(dir, "food-reviews", i => new { label = i % 2 == 0 ? "great" : "other", text = i % 2 == 0 ? "Fresh, fragrant tea." : "Stale and bland." });
        string methods = string.Join(",", TuningMethods.All.Select(m => m.Name).Append("deep-top1"));
        string csv = await Compare(dir, "food-reviews", methods);
        AssertRows(csv, methods, 2, dir, "food-reviews");
        var rows = csv.Trim().Split('\n').Skip(1).Select(l => l.Split(',')).ToDictionary(c => c[0]);
        Assert.Equal("0", rows["zero-shot"][1]);
        Assert.Equal("100.0000", rows["ft"][2]);
        foreach (var trained in new[] { "prompt", "prefix", "lora", "ptuning", "deep-head", "hard-search" })
            Assert.True(Directory.EnumerateFiles(Path.Combine(dir.File("adapters-food-reviews"), trained)).Any(), $"{trained} saved nothing");
    }

    [Fact]
    public async Task Generation_and_tagging_tasks_run_the_methods_that_fit_them_and_refuse_the_others()
    {
        using var dir = new TempDirectory();
        WriteSplits(dir, "wordnet-gloss", i => new { word = i % 2 == 0 ? "cat" : "run", pos = i % 2 == 0 ? "noun" : "verb", gloss = i % 2 == 0 ? "a small pet" : "move fast" });
        const string generation = "zero-shot,prompt,prefix,lora,bitfit";
        AssertRows(await Compare(dir, "wordnet-gloss", generation), generation, 2, dir, "wordnet-gloss");

        WriteSplits(dir, "brown-pos", i => new { tokens = new[] { "The", "cat", "ran", "." }, tags = new[] { "DET", "NOUN", "VERB", "." } });
        const string tagging = "probe,deep,deep-bottom1,adapter,ft-top1";
        AssertRows(await Compare(dir, "brown-pos", tagging), tagging, 1, dir, "brown-pos");

        var refused = await Assert.ThrowsAsync<Xunit.Sdk.TrueException>(() => Compare(dir, "brown-pos", "prompt"));
        Assert.Contains("per-token head", refused.Message);
    }
}
