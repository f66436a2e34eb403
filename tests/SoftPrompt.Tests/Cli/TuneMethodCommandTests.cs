using System.Text.Json;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>`softprompt tune --method M` then `eval --adapter` as processes, on a brand-new task (its own labels,
/// template and field names) in a temporary folder: every method of the registry from the tune command, its adapter
/// read back by eval, and refused over another base.</summary>
public class TuneMethodCommandTests
{
    private static string WriteMoodTask(TempDirectory dir)
    {
        string task = Path.Combine(dir.Path, "mood");
        Directory.CreateDirectory(task);
        var rows = new[] { ("Lily played with her dog in the sun.", "glad"), ("Tom lost his red ball and cried.",
            "upset") };
        foreach (var split in new[] { "train", "validation", "test" })
            File.WriteAllLines(Path.Combine(task, split + ".jsonl"),
                Enumerable.Range(0, 8).Select(i => JsonSerializer.Serialize(new { story = rows[i % 2].Item1,
                    feeling = rows[i % 2].Item2 })));
        File.WriteAllText(Path.Combine(task, "task.json"), JsonSerializer.Serialize(new
        {
            kind = "classification", template = "Story: {story}\nThe mood was", label_field = "feeling",
            verbalizer = new Dictionary<string, string> { ["glad"] = " happy", ["upset"] = " sad" },
        }));
        return task;
    }

    [Theory]
    [InlineData("lora", "LORA")]
    [InlineData("prefix", "PREFIX_TUNING")]
    [InlineData("adapter", "SOFTPROMPT_BOTTLENECK")]
    [InlineData("ia3", "IA3")]
    public async Task A_method_tuned_by_tune_is_saved_with_its_task_and_read_back_by_eval(string method,
        string peftType)
    {
        using var dir = new TempDirectory();
        string task = WriteMoodTask(dir), adapter = dir.File("adapter-" + method);
        string stdout = await CliProcess.Succeed(TimeSpan.FromMinutes(2), "tune", "--model",
            SharedModels.TinyStoriesPath, "--task", task,
            "--method", method, "--steps", "6", "--batch", "4", "--eval-every", "3", "--out", adapter, "--threads", "1",
                "--json");
        var report = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(method, report.GetProperty("method").GetString());
        Assert.Equal(6, report.GetProperty("steps").GetInt32());
        Assert.True(report.GetProperty("trainable_params").GetInt64() > 0);
        Assert.Contains(peftType, File.ReadAllText(Path.Combine(adapter, "adapter_config.json")));
        // the task travels with it
        Assert.Contains("\"feeling\"", File.ReadAllText(Path.Combine(adapter, "softprompt_task.json")));

        var evaluated = JsonDocument.Parse((await CliProcess.Succeed(TimeSpan.FromMinutes(1), "eval", "--model",
            SharedModels.TinyStoriesPath,
            "--task", task, "--adapter", adapter, "--json")).Trim()).RootElement;
        Assert.Equal(peftType.ToLowerInvariant(), evaluated.GetProperty("method").GetString());
        Assert.Equal(report.GetProperty("test_accuracy").GetDouble(), evaluated.GetProperty("accuracy").GetDouble(), 4);

        var (code, _, stderr) = await CliProcess.Run(TimeSpan.FromMinutes(1), "eval", "--model",
            Models.ShippedModelTests.RepositoryPath("models/base-tiny"),
            "--task", task, "--adapter", adapter);
        Assert.NotEqual(0, code);
        Assert.Contains("trained on another base model", stderr);
    }

    [Fact]
    public async Task Recompute_saves_the_same_prompt_and_is_refused_for_a_method_that_hooks_the_layers()
    {
        using var dir = new TempDirectory();
        string task = WriteMoodTask(dir);
        async Task<byte[]> PromptTrained(params string[] extra)
        {
            string adapter = dir.File("prompt" + extra.Length);
            await CliProcess.Succeed(TimeSpan.FromMinutes(2), ["tune", "--model", SharedModels.TinyStoriesPath,
                "--task", task, "--steps", "4", "--batch", "4", "--eval-every", "2", "--out", adapter, "--threads",
                "1", "--json", ..extra]);
            return File.ReadAllBytes(Path.Combine(adapter, "adapter_model.safetensors"));
        }

        // Every block is replayed in backward: the gradients, so the trained prompt, are the plain path's to the bit.
        Assert.Equal(await PromptTrained(), await PromptTrained("--recompute"));

        var (code, _, stderr) = await CliProcess.Run(TimeSpan.FromMinutes(1), "tune", "--model",
            SharedModels.TinyStoriesPath, "--task", task, "--method", "lora", "--recompute", "--steps", "2");
        Assert.NotEqual(0, code);
        Assert.Contains("--recompute applies to prompt tuning", stderr);
    }

    [Fact]
    public async Task Eval_scores_writes_each_rows_label_scores_whose_argmax_gives_the_printed_accuracy()
    {
        using var dir = new TempDirectory();
        string task = WriteMoodTask(dir), scores = dir.File("scores.jsonl");
        var report = JsonDocument.Parse((await CliProcess.Succeed(TimeSpan.FromMinutes(1), "eval", "--model",
            SharedModels.TinyStoriesPath, "--task", task, "--scores", scores, "--json")).Trim()).RootElement;
        var lines = File.ReadAllLines(scores).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(report.GetProperty("examples").GetInt32(), lines.Length);
        int right = 0;
        foreach (var line in lines)
        {
            var byLabel = line.GetProperty("scores").EnumerateObject().ToDictionary(p => p.Name,
                p => p.Value.GetDouble());
            Assert.Equal(["glad", "upset"], byLabel.Keys.Order());
            Assert.All(byLabel.Values, v => Assert.True(v < 0)); // log-probabilities
            string best = byLabel.MaxBy(p => p.Value).Key;
            Assert.Equal(best, line.GetProperty("predicted").GetString());
            if (best == line.GetProperty("label").GetString()) right++;
        }
        Assert.Equal(report.GetProperty("accuracy").GetDouble(), right / (double)lines.Length, 4);

        var (code, _, stderr) = await CliProcess.Run(TimeSpan.FromMinutes(1), "eval", "--model",
            SharedModels.TinyStoriesPath, "--task", task, "--ensemble", "a,b", "--scores", scores);
        Assert.NotEqual(0, code);
        Assert.Contains("--scores writes one classifier's scores", stderr);
    }

    [Theory]
    [InlineData("f1", "--keep-by is accuracy, macro-f1 or macro-f1-above-majority, not 'f1'.")]
    [InlineData("macro-f1-above-majority", "--keep-by and --keep-by-macro-f1 ask for different kept states")]
    public async Task A_kept_state_the_tune_command_cannot_choose_is_refused_in_one_line(string keepBy,
        string message)
    {
        using var dir = new TempDirectory();
        string task = WriteMoodTask(dir);
        var args = new List<string> { "tune", "--model", SharedModels.TinyStoriesPath, "--task", task, "--steps", "2",
            "--out", dir.File("adapter"), "--keep-by", keepBy };
        if (keepBy != "f1") args.Add("--keep-by-macro-f1");
        var (code, _, stderr) = await CliProcess.Run(TimeSpan.FromMinutes(1), [.. args]);
        Assert.NotEqual(0, code);
        Assert.Contains("error: " + message, stderr);
    }
}
