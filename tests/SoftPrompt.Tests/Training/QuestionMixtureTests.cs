using SoftPrompt.Models;
using SoftPrompt.Training.Pretraining;
using SoftPrompt.Training.Progress;
using Xunit;

namespace SoftPrompt.Tests.Training;

public class QuestionMixtureTests
{
    private const int Separator = 23;

    [Fact]
    public void Packed_rows_hold_whole_examples_and_score_only_their_answers()
    {
        var mixture = new QuestionMixture(new[]
        {
            new QuestionExample(new[] { 1, 2, 3 }, new[] { 20 }),
            new QuestionExample(new[] { 4, 5 }, new[] { 21, 22 }),
        }, Separator);
        const int context = 10;
        var inputs = new int[2 * context];
        var targets = new int[2 * context];
        int next = 0;
        int scored = mixture.Pack(null, ref next, 2, context, inputs, targets);

        // Row 0: [1 2 3 20 sep][4 5 21 22 sep]; row 1 stays empty: in order, every example is packed once.
        Assert.Equal(new[] { 1, 2, 3, 20, Separator, 4, 5, 21, 22, Separator }, inputs[..context]);
        Assert.All(inputs[context..], t => Assert.Equal(Separator, t));
        Assert.All(targets[context..], t => Assert.Equal(TokenMasking.Ignored, t));
        int I = TokenMasking.Ignored;
        // Position i predicts token i+1: "3" predicts the answer 20; "5" predicts 21, "21" predicts 22; nothing else
        // counts.
        Assert.Equal(new[] { I, I, 20, I, I, I, 21, 22, I, I }, targets[..context]);
        Assert.Equal(3, scored);
        Assert.Equal(2, next);

        // Drawn at random, every row is filled (both examples fit a row of 10 in either order).
        var random = new Random(1);
        int drawn = mixture.Pack(random, ref next, 2, context, inputs, targets);
        Assert.InRange(drawn, 4, 6);
        Assert.Equal(2, next); // the random draw leaves the evaluation cursor alone
    }

    [Fact]
    public void An_example_that_does_not_fit_the_rest_of_a_row_leaves_it_to_separators()
    {
        var mixture = new QuestionMixture(new[] { new QuestionExample(new[] { 1, 2, 3, 4 }, new[] { 20 }) }, Separator);
        var inputs = new int[8];
        var targets = new int[8];
        int next = 0;
        // a second copy would need 6 more
        Assert.Equal(1, mixture.Pack(new Random(1), ref next, 1, 8, inputs, targets));
        Assert.Equal(new[] { 1, 2, 3, 4, 20, Separator, Separator, Separator }, inputs);
        Assert.Equal(1, targets.Count(t => t != TokenMasking.Ignored));
    }

    [Fact]
    public void Mixture_training_teaches_the_answer_a_question_asks_for()
    {
        // Questions whose answer is the first token of the prompt (a copy across the row): only reading the input
        // helps.
        var rng = new Random(3);
        QuestionExample Question()
        {
            int answer = rng.Next(10);
            return new QuestionExample(new[] { answer, 10 + rng.Next(5), 10 + rng.Next(5), 15 }, new[] { answer });
        }
        var train = new QuestionMixture(Enumerable.Range(0, 400).Select(_ => Question()), Separator);
        var heldOut = new QuestionMixture(Enumerable.Range(0, 60).Select(_ => Question()), Separator);
        var corpus = TokenCorpus.FromDocuments(Enumerable.Range(0, 50).Select(i => i.ToString()),
            s => Enumerable.Range(0, 12).Select(k => (int.Parse(s) + k) % 20).ToArray(), Separator);
        var model = CausalLanguageModel.Create(new ModelConfig
        {
            Architecture = Architecture.Llama, VocabSize = 24, HiddenSize = 32, NumLayers = 2, NumHeads = 2,
            NumKvHeads = 1,
            IntermediateSize = 64, MaxPositions = 32,
        });
        model.InitializeRandom(seed: 5);
        var options = new PretrainOptions
        {
            BatchSize = 2, Context = 16, Steps = 300, WarmupSteps = 10, PeakLearningRate = 1e-2f, EvaluateEvery = 300,
            EvaluationBatches = 2, CheckpointEvery = 1000, Seed = 2, MixtureRows = 4,
        };
        var (lossBefore, accuracyBefore) = MixtureObjective.AnswerLoss(model, heldOut, 4, 16);
        var objective = new MixtureObjective(model, options, corpus, corpus, train, heldOut, SilentProgress.Instance);
        new Pretrainer(model, options).Run(objective, Path.Combine(Path.GetTempPath(), $"mixture-{Guid.NewGuid():N}"),
            resume: false);
        var (lossAfter, accuracyAfter) = MixtureObjective.AnswerLoss(model, heldOut, 4, 16);

        Assert.True(lossAfter < lossBefore * 0.5f, $"answer loss {lossBefore:F3} → {lossAfter:F3}");
        Assert.True(accuracyAfter > 0.8, $"first answer token right {accuracyBefore:P0} → {accuracyAfter:P0}");
    }

    [Fact]
    public void Options_refuse_a_mixture_on_masked_token_pretraining()
    {
        var options = new PretrainOptions { MixtureRows = 2, Objective = PretrainObjective.MaskedTokens,
            Masking = new TokenMasking(1, 10, new HashSet<int>()) };
        // the CLI shows it as --mixture-rows
        Assert.Equal("MixtureRows", Assert.Throws<SoftPrompt.Engine.OptionException>(options.Validate).Option);
        Assert.Contains("mixture-rows=2", new PretrainOptions { MixtureRows = 2 }.Fingerprint);
        Assert.DoesNotContain("mixture", new PretrainOptions().Fingerprint);
    }
}
