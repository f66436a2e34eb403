using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Models;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>`softprompt t5 pretrain` (span corruption, then LM adaptation) and `softprompt t5 compare` as processes, on
/// a tiny corpus and a tiny model.</summary>
public class T5CommandTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private static Task<(int ExitCode, string Stdout, string Stderr)> Run(params string[] args) => CliProcess.Run(Limit,
        args);

    private static Task<string> Succeed(params string[] args) => CliProcess.Succeed(Limit, args);

    private static void WriteCorpus(string dir)
    {
        Directory.CreateDirectory(dir);
        var sentences = new[] { "The food was great and the soup was warm.", "A quiet village lay beside the river.",
            "She read the letter twice before dinner." };
        foreach (var (file, copies) in new[] { ("train.txt", 30), ("validation.txt", 6) })
            File.WriteAllLines(Path.Combine(dir, file), Enumerable.Range(0, copies).Select(i => sentences[i % 3] + " "
                + sentences[(i + 1) % 3] + "\n"));
    }

    [Fact]
    public async Task Pretrain_adapt_and_compare_write_a_t5_directory_cards_and_a_table()
    {
        using var dir = new TempDirectory();
        WriteCorpus(dir.File("corpus"));
        string tokenizer = ShippedModelTests.RepositoryPath("models/base-tiny/tokenizer.json");
        string[] tiny = ["--width", "16", "--layers", "1", "--heads", "2", "--ffn", "32", "--window", "24", "--batch",
            "2", "--warmup", "1", "--eval-every", "2", "--threads", "1"];
        await Succeed(["t5", "pretrain", "--corpus", dir.File("corpus"), "--tokenizer", tokenizer, "--out",
            dir.File("sc"), "--steps", "4", .. tiny]);
        var spanCorruption = ModelLoader.LoadT5(dir.File("sc"));
        Assert.Equal(Architecture.T5, spanCorruption.Model.Config.Architecture);
        Assert.NotNull(spanCorruption.Tokenizer!.TokenId("<extra_id_0>"));
        Assert.Equal(spanCorruption.Tokenizer.TokenId("<pad>"), spanCorruption.Model.DecoderStartId);
        Assert.Contains("span corruption", File.ReadAllText(dir.File("sc/MODEL_CARD.md")));

        await Succeed(["t5", "pretrain", "--objective", "lm-adaptation", "--corpus", dir.File("corpus"), "--init-from",
            dir.File("sc"), "--out", dir.File("lm"), "--steps", "4", .. tiny]);
        Assert.Contains("LM adaptation", File.ReadAllText(dir.File("lm/MODEL_CARD.md")));
        var adapted = ModelLoader.LoadT5(dir.File("lm")).Model;
        Assert.Contains(adapted.Parameters, p => !p.Tensor.ToArray().SequenceEqual(spanCorruption.Model.Parameter(
            p.Name).ToArray()));

        string answer = await Succeed("t5", "generate", "--model", dir.File("lm"), "--prompt", "The soup was",
            "--max-tokens", "5");
        Assert.False(string.IsNullOrWhiteSpace(answer.Replace("\n", "")) && answer.Length > 200, answer);

        string data = Path.GetDirectoryName(
            Path.GetDirectoryName(RepositoryData.Find("tasks/food-reviews/train.jsonl")))!;
        await Succeed("t5", "compare", "--model", dir.File("lm"), "--task", "food-reviews", "--data", data, "--steps",
            "2", "--batch", "2",
            "--prompt-length", "2", "--eval-examples", "4", "--test-examples", "6", "--threads", "1", "--report",
                dir.File("t5.md"));
        var table = File.ReadAllLines(dir.File("t5.md")).Where(l => l.StartsWith("| ") && !l.StartsWith("| method")
            && !l.StartsWith("| ---")).ToList();
        Assert.Equal(["bow", "zero-shot", "prompt", "prefix", "ft"], table.Select(l => l.Split('|')[1].Trim()));
        // bow has no decoder: accuracy and macro-F1 only, exact match and label loss shown as "–"
        var bow = table[0].Split('|')[5..9].Select(c => c.Trim()).ToArray();
        Assert.All(bow[..2], c => Assert.InRange(double.Parse(c, System.Globalization.CultureInfo.InvariantCulture), 0,
            1));
        Assert.Equal(["–", "–"], bow[2..]);
        foreach (var row in table.Skip(1))
        {
            var metrics = row.Split('|')[5..9].Select(c => double.Parse(c,
                System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.All(metrics[..3], m => Assert.InRange(m, 0, 1));
            Assert.InRange(metrics[3], 0, 20); // nats per label token
        }
        Assert.True(File.Exists(dir.File("t5.csv")) && File.Exists(dir.File("t5.svg")));

        // `tune --method` trains the same registry entries on a T5, prompt tuning included, and saves PEFT's files.
        string tuned = await Succeed("tune", "--model", dir.File("lm"), "--task", "food-reviews", "--data", data,
            "--method", "prompt", "--steps", "2", "--batch", "2", "--prompt-length", "2", "--eval-every", "1",
            "--eval-examples", "4", "--test-examples", "6", "--threads", "1", "--out", dir.File("t5-prompt"), "--json");
        var outcome = System.Text.Json.JsonDocument.Parse(tuned.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("prompt", outcome.GetProperty("method").GetString());
        Assert.Equal(2 * 16, outcome.GetProperty("trainable_params").GetInt64());
        Assert.Equal(6, outcome.GetProperty("test_examples").GetInt32());
        Assert.InRange(outcome.GetProperty("zero_shot_accuracy").GetDouble(), 0, 1);
        string config = File.ReadAllText(dir.File("t5-prompt/adapter_config.json"));
        Assert.Contains("\"SEQ_2_SEQ_LM\"", config);
        Assert.Contains("\"PROMPT_TUNING\"", config);
        Assert.True(File.Exists(dir.File("t5-prompt/softprompt_task.json")));
        // `eval` reads the adapter back onto the T5 and scores the same six test rows the same way, and the template
        // alone as tune's untuned figure
        double Evaluated(params string[] extra) => System.Text.Json.JsonDocument.Parse(Succeed(["eval", "--model",
            dir.File("lm"), "--task", "food-reviews", "--data", data, "--examples", "6", "--json",
            .. extra]).Result.Trim().Split('\n')[^1]).RootElement.GetProperty("accuracy").GetDouble();
        Assert.Equal(outcome.GetProperty("test_accuracy").GetDouble(), Evaluated("--adapter", dir.File("t5-prompt")));
        Assert.Equal(outcome.GetProperty("zero_shot_accuracy").GetDouble(), Evaluated());
        // inspect reads the T5's prompt against the T5's own token table; t5 generate decodes with it
        string nearest = await Succeed("inspect", "--model", dir.File("lm"), "--adapter", dir.File("t5-prompt"));
        Assert.Equal(2, nearest.Split('\n').Count(line => line.StartsWith("P")));
        await Succeed("t5", "generate", "--model", dir.File("lm"), "--prompt", "The soup was", "--max-tokens", "3",
            "--adapter", dir.File("t5-prompt"));

        var (code, _, stderr) = await Run("tune", "--model", dir.File("lm"), "--task", "food-reviews", "--data", data,
            "--method", "lora", "--steps", "1");
        Assert.NotEqual(0, code);
        Assert.Contains("Method 'lora' does not run on a T5 encoder-decoder", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public async Task Bad_requests_say_what_is_wrong()
    {
        using var dir = new TempDirectory();
        var (code, _, stderr) = await Run("t5", "pretrain", "--objective", "lm-adaptation", "--out", dir.File("x"));
        Assert.NotEqual(0, code);
        Assert.Contains("--init-from", stderr);
        (code, _, stderr) = await Run("t5", "compare", "--model", ShippedModelTests.RepositoryPath("models/base-tiny"),
            "--task", "food-reviews", "--methods", "zero-shot");
        Assert.NotEqual(0, code);
        Assert.Contains("needs a T5 encoder-decoder", stderr);
        (code, _, stderr) = await Run("t5", "compare", "--task", "food-reviews", "--methods", "lora");
        Assert.NotEqual(0, code);
        Assert.Contains("--methods has no T5 method 'lora' (known: bow, zero-shot, prompt, prefix, ft)", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
