using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.Baselines;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class BaselineTests
{
    private static readonly SoftPrompt.Models.Formats.LoadedModel Loaded = MoodTask.Load();

    private static CausalLanguageModel Fresh() => ModelLoader.Load(SharedModels.TinyStoriesPath).Model;

    [Fact]
    public void Subsets_select_the_documented_weights()
    {
        var model = Fresh(); // 5 layers, no biases
        var full = WeightSubset.Select(model, "full");
        Assert.Equal(model.ParameterCount, full.Count);
        var bitfit = WeightSubset.Select(model, "bitfit");
        Assert.NotNull(bitfit.Note);
        Assert.Equal(2 * 5 + 1, bitfit.Parameters.Count); // two norms per block and the final norm
        Assert.All(bitfit.Parameters, p => Assert.EndsWith("norm.weight", p.Name));
        var top = WeightSubset.Select(model, "top-k", topLayers: 2);
        Assert.All(top.Parameters, p => Assert.True(p.Name.StartsWith("model.layers.3.")
            || p.Name.StartsWith("model.layers.4.") || p.Name == "model.norm.weight", p.Name));
        Assert.Equal(2 * 9 + 1, top.Parameters.Count);
        Assert.All(model.Parameters, p => Assert.Equal(top.Parameters.Contains(p), p.Tensor.RequiresGrad));
        Assert.Throws<ArgumentException>(() => WeightSubset.Select(model, "lora"));
    }

    [Fact]
    public void Fine_tuning_a_subset_changes_only_that_subset_and_lowers_the_loss()
    {
        var model = Fresh();
        var before = model.Parameters.ToDictionary(p => p.Name, p => p.Tensor.ToArray());
        var subset = WeightSubset.Select(model, "top-k", topLayers: 1);
        var task = new ClassificationTask("mood", "Story: {text}\nThe mood was", new Dictionary<string,
            string> { ["happy"] = " happy", ["sad"] = " sad" });
        var examples = new[] { "Lily played in the sun.", "Tom lost his ball." }
            .Select(t => new LabeledExample(new Dictionary<string, string> { ["text"] = t }, "sad")).ToList();
        var classifier = new PromptClassifier(model, ModelLoader.Load(SharedModels.TinyStoriesPath).Tokenizer!, task,
            null);
        var tape = new Tape();
        float lossBefore = classifier.Loss(tape, examples)[0];
        tape.Reset();
        new PromptTuner<LabeledExample>(classifier, new PromptTuningOptions { Steps = 15, BatchSize = 2,
            Optimizer = "adamw", LearningRate = 3e-3f, EvaluateEvery = 15 },
            trainable: subset.Tensors).Run(examples, examples);
        float lossAfter = classifier.Loss(tape, examples)[0];
        Assert.True(lossAfter < lossBefore * 0.7f, $"loss {lossBefore:F3} → {lossAfter:F3}");
        foreach (var p in model.Parameters)
        {
            bool changed = !p.Tensor.ToArray().SequenceEqual(before[p.Name]);
            Assert.True(changed == subset.Parameters.Contains(p), $"{p.Name} changed: {changed}");
        }
    }

    [Fact]
    public void A_trained_subset_saved_and_loaded_into_a_fresh_base_reproduces_its_scores()
    {
        var model = Fresh();
        var subset = WeightSubset.Select(model, "bitfit");
        foreach (var t in subset.Tensors)
        {
            var span = t.Span;
            for (int i = 0; i < span.Length; i++) span[i] *= 1 + 0.3f * MathF.Sin(i);
        }
        var task = MoodTask.Task();
        var examples = MoodTask.Examples();
        var tokenizer = Loaded.Tokenizer!;
        var expected = new PromptClassifier(model, tokenizer, task, null).LabelScores(examples);
        using var dir = new TempDirectory();
        WeightSubsetFiles.Save(dir.Path, subset, "tinystories");

        var fresh = Fresh();
        Assert.NotEqual(expected[0][0], new PromptClassifier(fresh, tokenizer, task, null).LabelScores(examples)[0][0],
            6);
        WeightSubsetFiles.LoadInto(dir.Path, fresh);
        var actual = new PromptClassifier(fresh, tokenizer, task, null).LabelScores(examples);
        for (int e = 0; e < examples.Length; e++) Assert.Equal(expected[e], actual[e]);
        Assert.Throws<SoftPrompt.Engine.IO.ModelFormatException>(() => SoftPrompt.Tuning.AdapterFiles.ReadConfig(
            dir.Path, "LORA"));
    }
}

public class EvenSubsetTests
{
    [Fact]
    public void Subset_spreads_over_an_ordered_split()
    {
        var rows = Enumerable.Range(0, 100).ToList();
        Assert.Equal(new[] { 0, 25, 50, 75 }, SoftPrompt.Data.Tasks.TaskFile.EvenSubset(rows, 4));
        Assert.Same(rows, SoftPrompt.Data.Tasks.TaskFile.EvenSubset(rows, 0));
        Assert.Same(rows, SoftPrompt.Data.Tasks.TaskFile.EvenSubset(rows, 500));
    }

    [Fact]
    public void Balanced_rows_hold_every_label_as_often_as_the_most_frequent_and_every_row_at_least_once()
    {
        var rows = new[] { "a1", "a2", "a3", "a4", "a5", "b1", "b2", "c1" };
        var balanced = SoftPrompt.Data.Tasks.TaskFile.BalancedByLabel(rows, r => r[..1]);
        Assert.Equal(15, balanced.Count);
        Assert.All(new[] { "a", "b", "c" }, label => Assert.Equal(5, balanced.Count(r => r.StartsWith(label))));
        Assert.Equal(rows.Order(), balanced.Distinct().Order());
        Assert.Equal(new[] { "b1", "b2", "b1", "b2", "b1" }, balanced.Where(r => r[0] == 'b'));
        Assert.Equal(balanced, SoftPrompt.Data.Tasks.TaskFile.BalancedByLabel(rows, r => r[..1]));
    }
}
