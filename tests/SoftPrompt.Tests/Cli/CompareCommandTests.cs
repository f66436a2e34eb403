using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tuning;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>`softprompt compare` as a process, on tiny task files of each kind: every method of the registry prepares,
/// trains a couple of steps, scores and lands in the Markdown, CSV and SVG reports; on a decoder (TinyStories) and on
/// a tiny BERT saved by the test.</summary>
public class CompareCommandTests
{
    private static async Task<string> Compare(TempDirectory dir, string task, string? methods, string? model = null)
    {
        var (exitCode, stderr) = await RunCompare(dir, task, methods, model ?? SharedModels.TinyStoriesPath);
        Assert.True(exitCode == 0, stderr);
        return File.ReadAllText(dir.File(task + ".csv"));
    }

    /// <summary>`softprompt compare` as a process; methods null runs the defaults.</summary>
    private static async Task<(int ExitCode, string Stderr)> RunCompare(TempDirectory dir, string task, string? methods,
        string model)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "softprompt.dll"), "compare", "--model", model,
                     "--task", task, "--data", Path.Combine(dir.Path, "data"), "--steps", "2", "--batch", "2",
                     "--prompt-length", "4", "--shots", "2", "--report", dir.File(task + ".md"), "--save-adapters",
                         dir.File("adapters-" + task) }
                     .Concat(methods is null ? [] : ["--methods", methods]))
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(4)).Token);
        return (process.ExitCode, await stderr);
    }

    private static void WriteSplits(TempDirectory dir, string task, Func<int, object> row)
    {
        Directory.CreateDirectory(Path.Combine(dir.Path, "data", task));
        // the shipped definition
        File.Copy(RepositoryData.Find($"tasks/{task}/task.json"), Path.Combine(dir.Path, "data", task, "task.json"));
        foreach (var split in new[] { "train", "validation", "test" })
            File.WriteAllLines(Path.Combine(dir.Path, "data", task, split + ".jsonl"),
                Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(row(i))));
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
        WriteSplits(dir, "food-reviews", i => new { label = i % 2 == 0 ? "great" : "other",
            text = i % 2 == 0 ? "Fresh, fragrant tea." : "Stale and bland." });
        string methods = string.Join(",", TuningMethods.For(ModelFamilies.Decoder).Select(m => m.Name)
            .Append("deep-top1"));
        string csv = await Compare(dir, "food-reviews", methods);
        AssertRows(csv, methods, 2, dir, "food-reviews");
        var rows = csv.Trim().Split('\n').Skip(1).Select(l => l.Split(',')).ToDictionary(c => c[0]);
        Assert.Equal("0", rows["zero-shot"][1]);
        Assert.Equal("100.0000", rows["ft"][2]);
        foreach (var trained in new[] { "prompt", "prefix", "lora", "ptuning", "deep-head", "hard-search" })
            Assert.True(Directory.EnumerateFiles(Path.Combine(dir.File("adapters-food-reviews"), trained)).Any(),
                $"{trained} saved nothing");
        // Every saved adapter keeps its task and base, so `serve --adapters` and `eval --adapter` need nothing else.
        foreach (var saved in Directory.GetDirectories(dir.File("adapters-food-reviews")))
        {
            var kept = PromptAdapterFiles.DefinitionOf(saved, "food-reviews");
            Assert.True(kept is ClassificationTask { Template: var template }
                && template == RepositoryData.Classification("food-reviews").Template,
                $"{Path.GetFileName(saved)} kept no task definition");
        }
    }

    [Fact]
    public async Task Generation_and_tagging_tasks_run_the_methods_that_fit_them_and_refuse_the_others()
    {
        using var dir = new TempDirectory();
        WriteSplits(dir, "wordnet-gloss", i => new { word = i % 2 == 0 ? "cat" : "run", pos = i % 2 == 0 ? "noun"
            : "verb", gloss = i % 2 == 0 ? "a small pet" : "move fast" });
        const string generation = "zero-shot,prompt,prefix,lora,bitfit";
        AssertRows(await Compare(dir, "wordnet-gloss", generation), generation, 2, dir, "wordnet-gloss");

        WriteSplits(dir, "brown-pos", i => new { tokens = new[] { "The", "cat", "ran", "." },
            tags = new[] { "DET", "NOUN", "VERB", "." } });
        const string tagging = "probe,deep,deep-bottom1,adapter,ft-top1";
        AssertRows(await Compare(dir, "brown-pos", tagging), tagging, 1, dir, "brown-pos");

        var refused = await Assert.ThrowsAsync<Xunit.Sdk.TrueException>(() => Compare(dir, "brown-pos", "prompt"));
        Assert.Contains("per-token head", refused.Message);
    }

    private static readonly string[] FoodTexts = ["Fresh, fragrant tea.", "Stale and bland."];

    /// <summary>A randomly initialised two-layer BERT and its WordPiece tokenizer saved as a model directory, with a
    /// vocabulary that holds the verbalizer words and the tagging sentence.</summary>
    private static string SaveTinyBert(TempDirectory dir)
    {
        var (model, tokenizer) = TinyBert.Build(FoodTexts.Concat(["Review: It was great other.", "The cat ran ."]));
        string path = dir.File("tiny-bert");
        SoftPrompt.Models.Formats.ModelLoader.Save(model, path);
        SoftPrompt.Data.Tokenizers.TokenizerJson.Write(Path.Combine(path,
            SoftPrompt.Data.Tokenizers.TokenizerJson.FileName), tokenizer);
        return path;
    }

    /// <summary>A randomly initialised tiny decoder of one family (as LayerAdapterKit builds them) with a byte-level
    /// BPE tokenizer trained on the test's texts, saved as a Hugging Face directory: config.json as that family writes
    /// it.</summary>
    private static string SaveTinyDecoder(TempDirectory dir, string family)
    {
        var trainer = new SoftPrompt.Data.Tokenizers.BpeTrainer();
        foreach (var text in FoodTexts.Concat(["Review: It was great other."])) trainer.Add(text);
        var tokenizer = trainer.Train(300, ["<|endoftext|>"], minPairCount: 1);
        var shape = Tuning.LayerAdapterKit.TinyRandom(family).Config;
        var model = SoftPrompt.Models.CausalLanguageModel.Create(shape with { VocabSize = tokenizer.VocabSize,
            MaxPositions = 64 });
        model.InitializeRandom(seed: 5, std: 0.1f);
        string path = dir.File("tiny-" + family);
        SoftPrompt.Models.Formats.ModelLoader.Save(model, path);
        SoftPrompt.Data.Tokenizers.TokenizerJson.Write(Path.Combine(path,
            SoftPrompt.Data.Tokenizers.TokenizerJson.FileName), tokenizer);
        return path;
    }

    [Theory]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    [InlineData("phi3")]
    [InlineData("gemma3_text")]
    [InlineData("gpt_neox")]
    public async Task Prompt_prefix_and_lora_run_on_each_decoder_family(string family)
    {
        using var dir = new TempDirectory();
        string model = SaveTinyDecoder(dir, family);
        Assert.Contains($"\"model_type\": \"{family}\"", File.ReadAllText(Path.Combine(model, "config.json")));
        WriteSplits(dir, "food-reviews", i => new { label = i % 2 == 0 ? "great" : "other", text = FoodTexts[i % 2] });
        const string methods = "prompt,prefix,deep,lora,llama-adapter";
        AssertRows(await Compare(dir, "food-reviews", methods, model), methods, 2, dir, "food-reviews");
        foreach (var trained in methods.Split(','))
            Assert.True(Directory.EnumerateFiles(Path.Combine(dir.File("adapters-food-reviews"), trained)).Any(),
                $"{trained} saved nothing");
    }

    [Fact]
    public async Task An_encoder_runs_every_encoder_method_by_default_on_classification_and_tagging()
    {
        using var dir = new TempDirectory();
        string bert = SaveTinyBert(dir);
        WriteSplits(dir, "food-reviews", i => new { label = i % 2 == 0 ? "great" : "other", text = FoodTexts[i % 2] });
        var encoderMethods = TuningMethods.Defaults(ModelFamilies.Encoder);
        string classification = string.Join(",", encoderMethods.Select(m => m.Name));
        Assert.Equal("bow,zero-shot,ptuning,ptuning-mlp,prefix,deep,deep-head,adapter,lora,ia3,probe,bitfit,ft-top2,ft",
            classification);
        var csv = await Compare(dir, "food-reviews", methods: null, bert);
        AssertRows(csv, classification, 2, dir, "food-reviews");
        var rows = csv.Trim().Split('\n').Skip(1).Select(l => l.Split(',')).ToDictionary(c => c[0]);
        Assert.Equal("0", rows["zero-shot"][1]);
        Assert.Equal("100.0000", rows["ft"][2]);
        Assert.Contains("[MASK]", File.ReadAllText(dir.File("food-reviews.md")));

        WriteSplits(dir, "brown-pos", i => new { tokens = new[] { "The", "cat", "ran", "." },
            tags = new[] { "DET", "NOUN", "VERB", "." } });
        string tagging = string.Join(",", encoderMethods.Where(m => m.SupportsHeads).Select(m => m.Name));
        AssertRows(await Compare(dir, "brown-pos", methods: null, bert), tagging, 1, dir, "brown-pos");
    }

    [Fact]
    public async Task A_decoder_only_method_on_an_encoder_is_refused_by_name_in_one_line()
    {
        using var dir = new TempDirectory();
        string bert = SaveTinyBert(dir);
        WriteSplits(dir, "food-reviews", i => new { label = i % 2 == 0 ? "great" : "other", text = FoodTexts[i % 2] });
        var (exitCode, stderr) = await RunCompare(dir, "food-reviews", "zero-shot,prompt", bert);
        Assert.Equal(1, exitCode);
        Assert.StartsWith("error: Method 'prompt' does not run on a BERT encoder", stderr);
        Assert.Contains("Methods for a BERT encoder: bow, zero-shot, ptuning", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(dir.File("food-reviews.csv")), "nothing ran before the refusal");
    }
}
