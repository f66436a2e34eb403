using SoftPrompt.Data.Images;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tuning.VisualPrompts;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Vision;

/// <summary>
/// Visual prompt tuning on a ViT: each method trains exactly its own tensors, prompts in no layer leave the model as
/// it was, training lowers the loss on the shipped glyph ViT, and a saved head + prompts predict as before.
/// </summary>
public class VisualPromptTuningTests(ITestOutputHelper output)
{
    private static readonly string[] Classes = ["a", "b", "c", "d"];
    private static readonly string TinyVit = Path.Combine(AppContext.BaseDirectory, "fixtures", "parity", "vit-tiny");

    /// <summary>Random images of the tiny fixture ViT's shape (2 channels, 8×8), each with a random class.</summary>
    private static List<LabelledImage> RandomImages(VitConfig config, int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(_ => new LabelledImage(Enumerable.Range(0, config.PixelsPerImage).Select(_ =>
                (float)rng.NextDouble()).ToArray(), rng.Next(Classes.Length)))
            .ToList();
    }

    /// <summary>The registry's ViT method by name (the old `vit compare` names "linear" and "full" are aliases of
    /// "probe" and "ft"), set up for a few steps of 8 images.</summary>
    private static VisualSetup Adapt(string name, Vit model, IReadOnlyList<string> classes, int promptTokens, int seed,
        int steps) =>
        TuningMethods.Find(name, ModelFamilies.Vision).PrepareVision(new VisionContext(model, classes,
            new MethodSettings
            {
                PromptLength = promptTokens, Seed = seed,
                Training = new PromptTuningOptions { Steps = steps, BatchSize = 8, EvaluateEvery = steps },
            }));

    [Theory]
    [InlineData("linear", 0)]
    [InlineData("vpt-shallow", 1)]
    [InlineData("vpt-deep", 3)]
    [InlineData("full", 0)]
    public void Each_method_changes_exactly_its_own_tensors(string name, int promptLayers)
    {
        var model = VitFiles.Load(TinyVit);
        var setup = Adapt(name, model, Classes, promptTokens: 2, seed: 3, steps: 3);
        var (objective, trainable) = (setup.Objective, setup.Trainable);
        Assert.Equal(promptLayers, objective.VisualPrompts?.Layers ?? 0);
        var everything = model.Parameters.Select(p => p.Tensor).Concat(objective.Head.Tensors)
            .Concat(objective.VisualPrompts is { } v ? [v.Prompts] : []).ToList();
        var before = everything.Select(t => t.ToArray()).ToList();

        var images = RandomImages(model.Config, 32, seed: 5);
        new PromptTuner<LabelledImage>(objective, setup.Training, trainable: trainable).Run(images, images);

        for (int i = 0; i < everything.Count; i++)
        {
            var t = everything[i];
            bool changed = !before[i].AsSpan().SequenceEqual(t.ReadOnlySpan);
            bool shouldTrain = trainable.Contains(t);
            // A key bias never changes: softmax ignores a shift shared by all of a query's scores, so its gradient is
            // 0.
            if (shouldTrain && t.Name!.EndsWith("attention.key.bias")) continue;
            Assert.True(changed == shouldTrain,
                $"{name}: {t.Name} {(changed ? "changed" : "stayed the same")}, but it " +
                $"{(shouldTrain ? "trains" : "is frozen")}");
            if (!shouldTrain) Assert.False(t.HasGrad, $"{name}: frozen {t.Name} got a gradient buffer");
        }
        Assert.All(["classifier.weight", "classifier.bias"], n => Assert.DoesNotContain(model.Parameter(n), trainable));
        long expected = name switch
        {
            "linear" => Classes.Length * 17,
            "vpt-shallow" => Classes.Length * 17 + 1 * 2 * 16,
            "vpt-deep" => Classes.Length * 17 + 3 * 2 * 16,
            _ => Classes.Length * 17 + model.Backbone.Sum(p => (long)p.Tensor.Length),
        };
        Assert.Equal(expected, trainable.Sum(t => (long)t.Length));
    }

    [Fact]
    public void Prompts_in_no_layer_leave_the_frozen_model_bit_identical()
    {
        var model = VitFiles.Load(TinyVit);
        var images = RandomImages(model.Config, 5, seed: 7);
        float[] pixels = images.SelectMany(i => i.Pixels).ToArray();
        var tape = new Tape(recording: false);
        float[] frozen = model.Hidden(tape, pixels, images.Count).ToArray();
        var none = new VisualPrompts(tokens: 4, layers: 0, model.Config);
        Assert.Equal(frozen, model.Hidden(tape, pixels, images.Count, none).ToArray());

        // With prompts, the CLS feature moves (they are attended to), and the sequence grows by exactly the prompt
        // rows.
        var deep = new VisualPrompts(tokens: 4, layers: model.Config.NumLayers, model.Config);
        var prompted = model.Hidden(tape, pixels, images.Count, deep);
        Assert.Equal(model.Config.Patches + 1 + 4, prompted.Dim(1));
        Assert.NotEqual(model.Features(tape, pixels, images.Count).ToArray(), model.Features(tape, pixels, images.Count,
            deep).ToArray());
    }

    [Fact]
    public void Vpt_deep_training_on_the_shipped_glyph_vit_lowers_the_loss()
    {
        var data = ImageTask.Load(ShippedModelTests.RepositoryPath("data/glyphs/lowercase"));
        var model = VitFiles.Load(ShippedModelTests.RepositoryPath("models/vit-glyphs"));
        var setup = Adapt("vpt-deep", model, data.Classes, promptTokens: 4, seed: 1, steps: 40);
        var objective = setup.Objective;
        var probe = data.Train.Where((_, i) => i % 11 == 0).ToList();
        float Loss() => objective.Loss(new Tape(recording: false), probe)[0];
        float before = Loss();
        new PromptTuner<LabelledImage>(objective, setup.Training with { BatchSize = 16 }, trainable: setup.Trainable)
            .Run(data.Train, probe);
        float after = Loss();
        output.WriteLine($"loss on {probe.Count} training images: {before:F3} → {after:F3}");
        Assert.True(after < 0.7f * before, $"40 VPT-deep steps took the loss from {before:F3} only to {after:F3}");
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("vpt-deep")]
    public void Saved_head_and_prompts_reproduce_the_predictions(string name)
    {
        var model = VitFiles.Load(TinyVit);
        var setup = Adapt(name, model, Classes, promptTokens: 3, seed: 2, steps: 5);
        var objective = setup.Objective;
        var images = RandomImages(model.Config, 24, seed: 9);
        new PromptTuner<LabelledImage>(objective, setup.Training, trainable: setup.Trainable).Run(images, images);
        using var dir = new TempDirectory();
        Assert.NotNull(setup.Save);
        setup.Save(dir.Path);

        var reloaded = ImageClassification.LoadAdapter(dir.Path, VitFiles.Load(TinyVit), Classes);
        Assert.Equal(objective.VisualPrompts?.Layers, reloaded.VisualPrompts?.Layers);
        var tape = new Tape(recording: false);
        Assert.Equal(objective.Logits(tape, images).ToArray(), reloaded.Logits(tape, images).ToArray());
        Assert.Equal(objective.Predict(images), reloaded.Predict(images));
    }

    [Fact]
    public void A_head_and_prompts_saved_on_one_vit_are_refused_on_another_of_the_same_shape()
    {
        using var dir = new TempDirectory();
        Adapt("vpt-deep", VitFiles.Load(TinyVit), Classes, promptTokens: 2, seed: 1, steps: 1).Save!(dir.Path);
        var other = VitFiles.Load(TinyVit);
        other.Parameters.First(p => p.Name.EndsWith("patch_embeddings.projection.weight")).Tensor.Span[0] += 0.5f;
        var error = Assert.Throws<ModelFormatException>(() => ImageClassification.LoadAdapter(dir.Path, other,
            Classes));
        Assert.Contains("trained on another base model", error.Message);
        Assert.NotNull(ImageClassification.LoadAdapter(dir.Path, VitFiles.Load(TinyVit), Classes).VisualPrompts);
    }

    [Fact]
    public void A_linear_probe_saved_over_a_vpt_directory_loads_without_the_old_prompts()
    {
        var model = VitFiles.Load(TinyVit);
        using var dir = new TempDirectory();
        Adapt("vpt-deep", model, Classes, promptTokens: 2, seed: 1, steps: 1).Save!(dir.Path);
        Adapt("probe", model, Classes, promptTokens: 2, seed: 1, steps: 1).Save!(dir.Path);
        Assert.Null(ImageClassification.LoadAdapter(dir.Path, model, Classes).VisualPrompts);
    }
}
