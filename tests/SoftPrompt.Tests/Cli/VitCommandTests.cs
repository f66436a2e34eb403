using System.IO.Compression;
using System.Text.Json;
using SoftPrompt.Data.Images;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.VisualPrompts;
using Xunit;

namespace SoftPrompt.Tests.Cli;

/// <summary>`softprompt vit pretrain` then `softprompt vit compare` as processes, on tiny made-up image
/// tasks.</summary>
public class VitCommandTests
{
    private const int Size = 8;

    /// <summary>An image task directory as tools/make_glyphs.py writes one: each class a bright row at its own
    /// height.</summary>
    private static string WriteTask(string root, string name, string[] classes)
    {
        string dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        var rng = new Random(name.Length);
        var splits = new Dictionary<string, object>();
        foreach (var (split, perClass) in new[] { ("train", 6), ("validation", 2), ("test", 2) })
        {
            var records = new List<byte>();
            for (int label = 0; label < classes.Length; label++)
                for (int n = 0; n < perClass; n++)
                {
                    records.Add((byte)label);
                    for (int i = 0; i < Size * Size; i++) records.Add((byte)(i / Size == 2 * label ? 255
                        : rng.Next(60)));
                }
            using (var file = new GZipStream(File.Create(Path.Combine(dir, split + ".bin.gz")),
                CompressionLevel.Fastest))
                file.Write(records.ToArray());
            splits[split] = new { file = split + ".bin.gz", count = classes.Length * perClass,
                fonts = Array.Empty<string>() };
        }
        File.WriteAllText(Path.Combine(dir, "index.json"),
            JsonSerializer.Serialize(new { image_size = Size, channels = 1, classes, splits }));
        return dir;
    }

    private static Task<string> Run(params string[] args) => CliProcess.Succeed(TimeSpan.FromMinutes(2), args);

    [Fact]
    public async Task Pretrain_then_compare_writes_a_model_a_report_and_reloadable_adapters()
    {
        using var dir = new TempDirectory();
        string pretraining = WriteTask(dir.Path, "shapes", ["p", "q", "r"]);
        string adaptation = WriteTask(dir.Path, "rows", ["w", "x", "y", "z"]);

        string pretrained = await Run("vit", "pretrain", "--task", pretraining, "--out", dir.File("vit"), "--patch",
            "4",
            "--hidden", "16", "--layers", "2", "--heads", "2", "--mlp", "32", "--steps", "6", "--batch", "4", "--json");
        var summary = JsonDocument.Parse(pretrained.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal(6, summary.GetProperty("steps").GetInt32());
        var model = VitFiles.Load(dir.File("vit"));
        Assert.Equal(["p", "q", "r"], model.Config.Labels);

        await Run("vit", "compare", "--model", dir.File("vit"), "--task", adaptation, "--tokens", "2", "--steps", "4",
            "--batch", "4", "--seeds", "1,2", "--out", dir.File("report/vpt.md"), "--adapters", dir.File("adapters"));
        string report = File.ReadAllText(dir.File("report/vpt.md"));
        foreach (var method in TuningMethods.For(ModelFamilies.Vision)) Assert.Contains($"| {method.Name} |", report);
        Assert.True(File.Exists(dir.File("report/vpt.csv")) && File.Exists(dir.File("report/vpt.svg")));

        // The frozen-backbone methods leave a head (+ prompts) per seed that loads onto the untouched model.
        var task = ImageTask.Load(adaptation);
        foreach (var (name, layers) in new[] { ("probe", 0), ("vpt-shallow", 1), ("vpt-deep", 2) })
        {
            var loaded = ImageClassification.LoadAdapter(Path.Combine(dir.File("adapters"), name + "-seed2"),
                VitFiles.Load(dir.File("vit")), task.Classes);
            Assert.Equal(layers, loaded.VisualPrompts?.Layers ?? 0);
            Assert.InRange(loaded.Score(task.Test), 0, 1);
        }
        Assert.False(Directory.Exists(Path.Combine(dir.File("adapters"), "ft-seed1")));

        // `tune --method` runs the same registry entries on a ViT and an image task, and saves the head and prompts.
        string tuned = await Run("tune", "--model", dir.File("vit"), "--task", adaptation, "--method", "vpt-deep",
            "--prompt-length", "2", "--steps", "4", "--batch", "4", "--eval-every", "2", "--out", dir.File("tuned"),
            "--json");
        var outcome = JsonDocument.Parse(tuned.Trim().Split('\n')[^1]).RootElement;
        Assert.Equal("vpt-deep", outcome.GetProperty("method").GetString());
        Assert.Equal(JsonValueKind.Null, outcome.GetProperty("zero_shot_accuracy").ValueKind); // a new head: none
        Assert.Equal(task.Test.Count, outcome.GetProperty("test_examples").GetInt32());
        Assert.InRange(outcome.GetProperty("test_accuracy").GetDouble(), 0, 1);
        Assert.Equal(4 * 17 + 2 * 2 * 16, outcome.GetProperty("trainable_params").GetInt64());
        var reloaded = ImageClassification.LoadAdapter(dir.File("tuned"), VitFiles.Load(dir.File("vit")), task.Classes);
        Assert.Equal(2, reloaded.VisualPrompts!.Layers);
        string evaluated = await Run("eval", "--model", dir.File("vit"), "--task", adaptation, "--adapter",
            dir.File("tuned"), "--json");
        Assert.Equal(outcome.GetProperty("test_accuracy").GetDouble(),
            JsonDocument.Parse(evaluated.Trim().Split('\n')[^1])
            .RootElement.GetProperty("accuracy").GetDouble());

        var (code, _, stderr) = await CliProcess.Run(TimeSpan.FromMinutes(1), "vit", "compare", "--model",
            dir.File("vit"), "--task", adaptation,
            "--seeds", "1,x", "--out", dir.File("report/bad.md"));
        Assert.NotEqual(0, code);
        Assert.Contains("--seeds takes whole numbers separated by commas; 'x' is not one.", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
