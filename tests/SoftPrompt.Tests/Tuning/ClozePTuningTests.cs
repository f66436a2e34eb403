using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
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

    private static readonly Lazy<(Bert Model, WordPieceTokenizer Tokenizer)> Frozen =
        new(() => TinyBert.Build(Examples.Select(e => Task.Render(e) + " great other")));

    private static ClozePTuningClassifier Classifier(PromptEncoderKind kind, int seed = 1)
    {
        var (model, tokenizer) = Frozen.Value;
        var template = PTuningTemplate.Around(Task.Template, 4);
        return new ClozePTuningClassifier(model, tokenizer, Task, template,
            new PromptEncoder(4, model.Config.HiddenSize, kind, 8, seed));
    }

    [Theory]
    [InlineData(PromptEncoderKind.Lstm)]
    [InlineData(PromptEncoderKind.Mlp)]
    public void One_step_changes_every_encoder_tensor_and_no_model_weight(PromptEncoderKind kind)
    {
        var classifier = Classifier(kind);
        TrainingSteps.OneStepChangesExactly(Frozen.Value.Model, classifier.Trainable, tape => classifier.Loss(tape,
            Examples));
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
        TrainingSteps.LossFalls(tape => classifier.Loss(tape, Examples), classifier.Trainable, steps: 15);
    }

    [Fact]
    public void Save_then_load_gives_identical_label_scores_in_the_p_tuning_layout()
    {
        var classifier = Classifier(PromptEncoderKind.Lstm, seed: 7);
        using var dir = new TempDirectory();
        classifier.Save(dir.Path, "bert-tiny");
        var config = AdapterFiles.ReadConfig(dir.Path, "P_TUNING");
        Assert.Equal("LSTM", config.GetProperty("encoder_reparameterization_type").GetString());
        Assert.Equal(4, config.GetProperty("num_virtual_tokens").GetInt32());
        Assert.Equal(new[] { 4, Frozen.Value.Model.Config.HiddenSize }, AdapterFiles.OpenWeights(dir.Path)
            .Info("prompt_embeddings").Shape);

        var loaded = ClozePTuningClassifier.Load(dir.Path, Frozen.Value.Model, Frozen.Value.Tokenizer, Task);
        Assert.Equal(classifier.Template.Text, loaded.Template.Text);
        var expected = classifier.LabelScores(Examples);
        var actual = loaded.LabelScores(Examples);
        for (int e = 0; e < Examples.Length; e++) Assert.Equal(expected[e], actual[e]);
    }

    [Fact]
    public void Plain_cloze_scores_the_verbalizer_words_at_the_mask_of_the_bare_template()
    {
        var (model, tokenizer) = Frozen.Value;
        var classifier = new ClozeClassifier(model, tokenizer, Task);
        var scores = classifier.LabelScores(Examples);
        var labelTokens = Task.Labels.Select(l => tokenizer.Encode(Task.Verbalizer[l]).Single()).ToArray();
        for (int e = 0; e < Examples.Length; e++)
        {
            // One unpadded forward pass over the filled-in template, read at its [MASK].
            var ids = new[] { tokenizer.ClsId!.Value }.Concat(tokenizer.Encode(Task.Render(Examples[e])))
                .Append(tokenizer.SepId!.Value).ToArray();
            var tape = new Tape(recording: false);
            var logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = ids.Length, TokenIds = ids })
                .ToArray();
            tape.Reset();
            int mask = Array.LastIndexOf(ids, tokenizer.MaskId!.Value), v = model.Config.VocabSize;
            for (int l = 0; l < labelTokens.Length; l++) Assert.Equal(logits[mask * v + labelTokens[l]], scores[e][l],
                4);
        }
        Assert.Equal(scores.Select(s => Task.Labels[Array.IndexOf(s, s.Max())]), classifier.Predict(Examples));
        Assert.Throws<ArgumentException>(() => new ClozeClassifier(model, tokenizer, Task,
            "{soft} {text} It was [MASK]."));
        Assert.Throws<ArgumentException>(() => new ClozeClassifier(model, tokenizer, Task, "{text} It was great."));
    }
}
