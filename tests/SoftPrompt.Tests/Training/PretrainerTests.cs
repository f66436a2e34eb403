using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Training.Checkpoints;
using SoftPrompt.Training.Pretraining;
using Xunit;

namespace SoftPrompt.Tests.Training;

public class PretrainerTests
{
    private static CausalLanguageModel TinyModel()
    {
        var model = CausalLanguageModel.Create(new ModelConfig
        {
            Architecture = Architecture.Llama, VocabSize = 24, HiddenSize = 16, NumLayers = 2, NumHeads = 2,
            NumKvHeads = 1,
            IntermediateSize = 32, MaxPositions = 64,
        });
        model.InitializeRandom(seed: 4);
        return model;
    }

    // A language with structure to learn: counting upward mod 20, restarting at random points, then a separator (23).
    private static TokenCorpus CountingCorpus(int seed, int documents)
    {
        var rng = new Random(seed);
        var docs = Enumerable.Range(0, documents).Select(_ =>
        {
            int start = rng.Next(20), length = 8 + rng.Next(24);
            return Enumerable.Range(0, length).Select(i => (start + i) % 20).ToArray();
        }).ToList();
        return TokenCorpus.FromDocuments(docs.Select((_, i) => i.ToString()), s => docs[int.Parse(s)], separator: 23);
    }

    private static PretrainOptions Options(int steps) => new()
    {
        BatchSize = 4, Context = 16, Steps = steps, WarmupSteps = 5, PeakLearningRate = 1e-2f,
        EvaluateEvery = 10, EvaluationBatches = 4, CheckpointEvery = 10, Seed = 9,
    };

    [Fact]
    public void Validation_loss_falls_well_below_uniform_guessing()
    {
        using var dir = new TempDirectory();
        var model = TinyModel();
        var trainer = new Pretrainer(model, Options(60));
        var validation = CountingCorpus(2, 40);
        float before = trainer.ValidationLoss(validation);
        var result = trainer.Run(CountingCorpus(1, 400), validation, Path.Combine(dir.Path, "ckpt"), resume: false);
        Assert.True(before > 2.5f, $"an untrained model should be near ln(24) = 3.18, got {before}");
        Assert.True(result.BestValidationLoss < 1.5f,
            $"validation loss {result.BestValidationLoss} did not fall far below {before}");
    }

    [Fact]
    public void Resuming_from_a_checkpoint_gives_the_same_weights_as_an_uninterrupted_run()
    {
        using var dir = new TempDirectory();
        var train = CountingCorpus(1, 200);
        var validation = CountingCorpus(2, 20);

        var straight = TinyModel();
        new Pretrainer(straight, Options(30)).Run(train, validation, Path.Combine(dir.Path, "a"), resume: false);

        // Stop at step 20 (as Ctrl-C does), then resume in a fresh model and trainer.
        var interrupted = TinyModel();
        var cancel = new CancellationTokenSource();
        var progress = new CancelAtStep(20, cancel);
        var stopped = new Pretrainer(interrupted, Options(30), progress).Run(train, validation,
            Path.Combine(dir.Path, "b"), resume: false, cancel: cancel.Token);
        Assert.True(stopped.Stopped);
        Assert.Equal(20, stopped.Steps);
        var resumed = TinyModel();
        var result = new Pretrainer(resumed, Options(30)).Run(train, validation, Path.Combine(dir.Path, "b"),
            resume: true);

        Assert.Equal(30, result.Steps);
        foreach (var (p, q) in straight.Parameters.Zip(resumed.Parameters))
            Assert.Equal(p.Tensor.ToArray(), q.Tensor.ToArray());
    }

    [Fact]
    public void Evaluation_over_all_windows_uses_every_window_once()
    {
        var corpus = CountingCorpus(3, 30);
        int windows = (corpus.Length - 1) / 16;
        var batches = corpus.EvaluationBatches(4, 16, int.MaxValue).ToList();
        Assert.Equal(windows, batches.Sum(b => b.Batch));
        Assert.Equal(corpus.Tokens.Skip(1).Take(16), batches[0].Targets.Take(16));
        var model = TinyModel();
        Assert.True(float.IsFinite(Pretrainer.MeanLoss(model, corpus, 4, 16, int.MaxValue)));
    }

    [Fact]
    public void Resume_with_different_options_is_refused()
    {
        using var dir = new TempDirectory();
        var train = CountingCorpus(1, 100);
        string checkpoint = Path.Combine(dir.Path, "c");
        new Pretrainer(TinyModel(), Options(10)).Run(train, train, checkpoint, resume: false);
        var e = Assert.Throws<InvalidOperationException>(() =>
            new Pretrainer(TinyModel(), Options(10) with { PeakLearningRate = 5e-3f }).Run(train, train, checkpoint,
                resume: true));
        Assert.Contains("different options", e.Message);
    }

    [Theory]
    [InlineData(".old")] // killed after moving the current checkpoint aside
    [InlineData(".new")] // killed after that, before moving the new one in
    public void A_crash_between_the_renames_leaves_a_whole_checkpoint_loadable(string suffix)
    {
        using var dir = new TempDirectory();
        var train = CountingCorpus(1, 100);
        string checkpoint = Path.Combine(dir.Path, "d");
        var model = TinyModel();
        new Pretrainer(model, Options(10)).Run(train, train, checkpoint, resume: false);
        Directory.Move(checkpoint, checkpoint + suffix);
        Assert.True(TrainingCheckpoint.Exists(checkpoint));
        var reloaded = TinyModel();
        var state = TrainingCheckpoint.Load(checkpoint, reloaded.Parameters.Select(p => p.Tensor).ToArray(),
            Array.Empty<SoftPrompt.Engine.Optim.IOptimizer>());
        Assert.Equal(10, state.Step);
        Assert.Equal(model.Parameters[1].Tensor.ToArray(), reloaded.Parameters[1].Tensor.ToArray());
    }
}

public class NonFiniteGuardTests
{
    [Fact]
    public void Names_the_step_and_the_tensor_with_a_bad_gradient()
    {
        var good = SoftPrompt.Tests.Support.GradCheck.Random(1, 1f, 4);
        good.Name = "good";
        var bad = SoftPrompt.Tests.Support.GradCheck.Random(2, 1f, 3, 2);
        bad.Name = "layers.0.bad";
        good.Grad.Fill(0.5f);
        bad.Grad.Fill(1f);
        Assert.Null(SoftPrompt.Training.NonFiniteGuard.Problem(7, 2.5f, new[] { good, bad }));
        bad.Grad[4] = float.NaN;
        var problem = SoftPrompt.Training.NonFiniteGuard.Problem(7, 2.5f, new[] { good, bad });
        Assert.Contains("step 7", problem);
        Assert.Contains("layers.0.bad is NaN at element 4", problem);
        Assert.Contains("loss is Infinity", SoftPrompt.Training.NonFiniteGuard.Problem(3, float.PositiveInfinity,
            new[] { good }));
    }

    [Fact]
    public void Pretraining_stops_on_a_nan_loss_or_skips_it_as_configured()
    {
        using var dir = new SoftPrompt.Tests.Support.TempDirectory();
        var model = CausalLanguageModel.Create(new ModelConfig
        {
            Architecture = Architecture.Llama, VocabSize = 24, HiddenSize = 16, NumLayers = 1, NumHeads = 2,
            IntermediateSize = 32, MaxPositions = 64,
        });
        model.InitializeRandom(seed: 4);
        model.Parameters[0].Tensor[5] = float.NaN; // a poisoned embedding row makes some batches' loss NaN
        var corpus = new TokenCorpus(Enumerable.Range(0, 400).Select(i => i % 20).ToArray());
        var options = new PretrainOptions { BatchSize = 2, Context = 8, Steps = 6, WarmupSteps = 1, EvaluateEvery = 100,
            CheckpointEvery = 100 };
        var e = Assert.Throws<InvalidOperationException>(() => new Pretrainer(model, options).Run(corpus, corpus,
            Path.Combine(dir.Path, "a"), resume: false));
        Assert.Contains("step 1", e.Message);
        Assert.Contains("NaN", e.Message);
        var result = new Pretrainer(model, options with { OnNonFinite = SoftPrompt.Training.NonFinitePolicy.Skip })
            .Run(corpus, corpus, Path.Combine(dir.Path, "b"), resume: false);
        Assert.Equal(6, result.Steps);
        Assert.True(float.IsNaN(model.Parameters[0].Tensor[5]) && model.Parameters[0].Tensor.ToArray()
            .Count(float.IsNaN) == 1,
            "skipped steps must not spread the NaN into the weights");
    }
}
