using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Training.Pretraining;
using Xunit;

namespace SoftPrompt.Tests.Training;

public class MaskedPretrainingTests
{
    private const int Mask = 20, Separator = 23;
    private static readonly TokenMasking Masking = new(Mask, VocabSize: 24,
        NeverMasked: new HashSet<int> { Separator });

    private static Bert TinyBert()
    {
        var model = new Bert(new ModelConfig
        {
            Architecture = Architecture.Bert, VocabSize = 24, HiddenSize = 16, NumLayers = 2, NumHeads = 2,
            IntermediateSize = 32,
            MaxPositions = 64, TypeVocabSize = 2, NormEps = 1e-12f, HiddenAct = "gelu",
        });
        model.InitializeRandom(seed: 4);
        return model;
    }

    // Counting upward mod 20 from random starts: a hidden token is its left neighbour + 1.
    private static TokenCorpus CountingCorpus(int seed, int documents)
    {
        var rng = new Random(seed);
        var tokens = new List<int>();
        for (int d = 0; d < documents; d++)
        {
            int start = rng.Next(20), length = 8 + rng.Next(24);
            tokens.AddRange(Enumerable.Range(0, length).Select(i => (start + i) % 20));
            tokens.Add(Separator);
        }
        return new TokenCorpus(tokens.ToArray());
    }

    [Fact]
    public void Masking_hides_about_15_percent_as_80_10_10_and_never_separators()
    {
        var inputs = new int[200_000];
        var rng = new Random(3);
        for (int i = 0; i < inputs.Length; i++) inputs[i] = i % 10 == 9 ? Separator : rng.Next(20);
        var original = (int[])inputs.Clone();
        var targets = new int[inputs.Length];
        Masking.Apply(new Random(5), inputs, targets);

        var chosen = Enumerable.Range(0, inputs.Length).Where(i => targets[i] != TokenMasking.Ignored).ToArray();
        Assert.All(chosen, i => Assert.Equal(original[i], targets[i]));
        Assert.DoesNotContain(chosen, i => original[i] == Separator);
        Assert.All(Enumerable.Range(0, inputs.Length).Except(chosen), i => Assert.Equal(original[i], inputs[i]));
        double rate = chosen.Length / (inputs.Length * 0.9);
        double masked = chosen.Count(i => inputs[i] == Mask) / (double)chosen.Length;
        double kept = chosen.Count(i => inputs[i] == original[i]) / (double)chosen.Length;
        Assert.InRange(rate, 0.145, 0.155);
        Assert.InRange(masked, 0.78, 0.82);
        Assert.InRange(kept, 0.09, 0.12); // 10% kept on purpose, plus random draws that hit the same token
    }

    [Fact]
    public void Masked_pretraining_of_a_tiny_bert_lowers_the_validation_loss()
    {
        using var dir = new TempDirectory();
        var options = new PretrainOptions
        {
            Objective = PretrainObjective.MaskedTokens, Masking = Masking, BatchSize = 8, Context = 16, Steps = 400,
            WarmupSteps = 20,
            PeakLearningRate = 3e-3f, EvaluateEvery = 50, EvaluationBatches = 4, CheckpointEvery = 400, Seed = 9,
        };
        var trainer = new Pretrainer(TinyBert(), options);
        var validation = CountingCorpus(2, 40);
        float before = trainer.ValidationLoss(validation);
        var result = trainer.Run(CountingCorpus(1, 400), validation, Path.Combine(dir.Path, "ckpt"), resume: false);
        Assert.True(before > 2.5f, $"an untrained model should be near ln(24) = 3.18, got {before}");
        // ln 20 = 3.0 is the best a model can do without reading the context (20 equally common digits).
        Assert.True(result.BestValidationLoss < 2.85f,
            $"validation loss {result.BestValidationLoss} did not fall below context-free guessing (3.0)");
    }

    [Fact]
    public void Objectives_that_do_not_fit_the_model_are_refused()
    {
        var mlm = new PretrainOptions { Objective = PretrainObjective.MaskedTokens, Masking = Masking, Context = 16 };
        var causal = CausalLanguageModel.Create(new ModelConfig
        {
            Architecture = Architecture.Gpt2, VocabSize = 24, HiddenSize = 16, NumLayers = 1, NumHeads = 2,
            IntermediateSize = 32, MaxPositions = 64,
        });
        Assert.Contains("needs an encoder", Assert.Throws<ArgumentException>(() => new Pretrainer(causal,
            mlm)).Message);
        Assert.Contains("needs a causal model", Assert.Throws<ArgumentException>(() => new Pretrainer(TinyBert(),
            new PretrainOptions { Context = 16 })).Message);
    }
}
