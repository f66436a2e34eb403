using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.Cloze;
using SoftPrompt.Tuning.PTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class ClozePTuningTests
{
    private static readonly ClassificationTask Task = new("food", "Review: {text} The food was [MASK].",
        new Dictionary<string, string> { ["positive"] = "great", ["negative"] = "other" });

    private static readonly LabeledExample[] Examples =
    [
        new(new Dictionary<string, string> { ["text"] = "lovely soup and fresh bread" }, "positive"),
        new(new Dictionary<string, string> { ["text"] = "cold fries, rude staff, never again" }, "negative"),
        new(new Dictionary<string, string> { ["text"] = "the best curry in town" }, "positive"),
        new(new Dictionary<string, string> { ["text"] = "bland and overpriced" }, "negative"),
    ];

    private static readonly Lazy<(Bert Model, WordPieceTokenizer Tokenizer)> Frozen = new(() =>
    {
        var trainer = new WordPieceTrainer();
        foreach (var e in Examples) trainer.Add(Task.Render(e) + " great other");
        var tokenizer = trainer.Train(vocabSize: 120, minPairCount: 1);
        var model = new Bert(new ModelConfig
        {
            Architecture = Architecture.Bert, VocabSize = tokenizer.VocabSize, HiddenSize = 16, NumLayers = 2, NumHeads = 2,
            IntermediateSize = 32, MaxPositions = 64, TypeVocabSize = 2, NormEps = 1e-12f, HiddenAct = "gelu",
        });
        model.InitializeRandom(seed: 3);
        return (model, tokenizer);
    });

    private static ClozePTuningClassifier Classifier(PromptEncoderKind kind, int seed = 1)
    {
        var (model, tokenizer) = Frozen.Value;
        var template = PTuningTemplate.Around(Task.Template, 4);
        return new ClozePTuningClassifier(model, tokenizer, Task, template, new PromptEncoder(4, model.Config.HiddenSize, kind, 8, seed));
    }

    [Theory]
    [InlineData(PromptEncoderKind.Lstm)]
    [InlineData(PromptEncoderKind.Mlp)]
    public void One_step_changes_every_encoder_tensor_and_no_model_weight(PromptEncoderKind kind)
    {
        var classifier = Classifier(kind);
        TrainingSteps.OneStepChangesExactly(Frozen.Value.Model, classifier.Trainable, tape => classifier.Loss(tape, Examples));
    }

    [Fact]
    public void Label_scores_are_the_mlm_logits_of_the_verbalizer_words_at_the_mask()
    {
        var classifier = Classifier(PromptEncoderKind.Mlp);
        var scores = classifier.LabelScores(Examples);
        // Batched with padding or alone, a row scores the same: padding is masked out of bidirectional attention.
        var alone = classifier.LabelScores(Examples[..1]);
        for (int l = 0; l < 2; l++) Assert.Equal(scores[0][l], alone[0][l], 4);
        Assert.Equal(Examples.Length, classifier.Predict(Examples).Length);
    }

    [Fact]
    public void A_short_run_lowers_the_loss()
    {
        var classifier = Classifier(PromptEncoderKind.Mlp, seed: 5);
        float Loss() => classifier.Loss(new Tape(recording: false), Examples)[0];
        float before = Loss();
        var optimizer = new AdamW(classifier.Trainable, learningRate: 1e-2f, weightDecay: 0f);
        for (int step = 0; step < 15; step++)
        {
            var tape = new Tape();
            tape.Backward(classifier.Loss(tape, Examples));
            optimizer.Update();
            optimizer.ZeroGrad();
            tape.Reset();
        }
        Assert.True(Loss() < before, $"loss {before} → {Loss()}");
    }
}
