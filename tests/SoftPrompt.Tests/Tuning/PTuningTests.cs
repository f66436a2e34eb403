using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.PTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class PTuningTests
{
    private static readonly LoadedModel Loaded = MoodTask.Load();
    private static readonly ClassificationTask Task = MoodTask.Task(" very sad");

    private static readonly LabeledExample[] Examples = [.. MoodTask.Examples(), MoodTask.Example("Tom cried.", "sad")];

    private static PTuningClassifier Classifier(PromptEncoderKind kind = PromptEncoderKind.Lstm, int seed = 3)
    {
        int width = Loaded.Model.Config.HiddenSize;
        return new PTuningClassifier(Loaded.Model, Loaded.Tokenizer!, Task,
            new PTuningTemplate("{soft*2}Story: {text}{soft} The mood{soft} was"),
            new PromptEncoder(4, width, kind, 16, seed));
    }

    [Theory]
    [InlineData(PromptEncoderKind.Lstm)]
    [InlineData(PromptEncoderKind.Mlp)]
    public void Encoder_gradients_match_finite_differences(PromptEncoderKind kind)
    {
        var encoder = new PromptEncoder(3, 6, kind, 5, seed: 2);
        // Small steps: ReLU kinks sit within a larger eps of some hidden units.
        GradCheck.Check((tape, _) => encoder.Forward(tape), encoder.Tensors.ToArray(), eps: 2e-3, tolerance: 5e-3);
    }

    [Fact]
    public void Template_puts_pseudo_tokens_where_it_says_and_keeps_them_when_the_input_is_cut()
    {
        var template = new PTuningTemplate("{soft*2}Story: {text}{soft} The mood{soft} was");
        Assert.Equal(4, template.PseudoTokens);
        var tokenizer = Loaded.Tokenizer!;
        var fields = new Dictionary<string, string> { ["text"] = "Tom cried." };
        var (tokens, slots) = template.Encode(tokenizer, fields, 200, placeholderId: -1);
        int story = tokenizer.Encode("Story: Tom cried.").Length, mood = tokenizer.Encode(" The mood").Length;
        Assert.Equal(new[] { 0, 1, 2 + story, 3 + story + mood }, slots);
        Assert.All(slots, s => Assert.Equal(-1, tokens[s]));
        Assert.Equal(tokenizer.Encode(" was"), tokens[^tokenizer.Encode(" was").Length..]);

        var longFields = new Dictionary<string,
            string> { ["text"] = string.Join(" ", Enumerable.Repeat("Lily ran and ran.", 60)) };
        var (cut, cutSlots) = template.Encode(tokenizer, longFields, 50, placeholderId: -1);
        Assert.Equal(50, cut.Length);
        Assert.Equal(4, cutSlots.Count(s => cut[s] == -1));
        Assert.Throws<ArgumentException>(() => new PTuningTemplate("no pseudo tokens {text}"));
        Assert.Contains("1 to 512", Assert.Throws<ArgumentException>(() =>
            new PTuningTemplate("{soft*99999999999}{text}")).Message);

        // Templates saved before the brace syntax wrote [P] and [P*k]: they read as the same template.
        var legacy = new PTuningTemplate("[P*2]Story: {text}[P] The mood[P] was");
        Assert.Equal((tokens, slots), legacy.Encode(tokenizer, fields, 200, placeholderId: -1), new EncodingComparer());
        Assert.StartsWith("{soft*", PTuningTemplate.Around("Story: {text}", 3).Text);
    }

    private sealed class EncodingComparer : IEqualityComparer<(int[] Tokens, int[] Slots)>
    {
        public bool Equals((int[] Tokens, int[] Slots) a, (int[] Tokens, int[] Slots) b) =>
            a.Tokens.SequenceEqual(b.Tokens) && a.Slots.SequenceEqual(b.Slots);
        public int GetHashCode((int[] Tokens, int[] Slots) value) => value.Tokens.Length;
    }

    [Fact]
    public void Label_scores_agree_with_the_training_loss_and_a_forward_pass_by_hand()
    {
        var classifier = Classifier();
        var model = Loaded.Model;
        var scores = classifier.LabelScores(Examples, rowsPerBatch: 4);
        // By hand for the first example's first label: embed the template, overwrite the slots with the encoder's
        // vectors.
        var tokenizer = Loaded.Tokenizer!;
        var label = tokenizer.Encode(" happy");
        var (tokens, slots) = classifier.Template.Encode(tokenizer, Examples[0].Fields, 1000, tokenizer.EosId ?? 0);
        var tape = new Tape(recording: false);
        var vectors = classifier.Encoder.Forward(tape).ToArray();
        var ids = tokens.Concat(label).ToArray();
        var embedded = Fn.Embedding(tape, model.TokenEmbedding, ids, 1, ids.Length).ToArray();
        int d = model.Config.HiddenSize;
        for (int i = 0; i < slots.Length; i++) Array.Copy(vectors, i * d, embedded, slots[i] * d, d);
        double expected = ByHand.TargetLogProbability(model, Tensor.FromArray(embedded, new[] { 1, ids.Length, d }),
            tokens.Length - 1, label);
        Assert.Equal(expected, scores[0][0], 1e-3);

        double goldSum = 0;
        int goldTokens = 0;
        for (int e = 0; e < Examples.Length; e++)
        {
            int l = Task.Labels.ToList().IndexOf(Examples[e].Label);
            goldSum -= scores[e][l];
            goldTokens += tokenizer.Encode(Task.Verbalizer[Examples[e].Label]).Length;
        }
        Assert.Equal(goldSum / goldTokens, classifier.Loss(new Tape(), Examples)[0], 1e-3);
    }

    [Theory]
    [InlineData(PromptEncoderKind.Lstm)]
    [InlineData(PromptEncoderKind.Mlp)]
    public void One_step_changes_every_encoder_tensor_and_no_model_weight(PromptEncoderKind kind)
    {
        var classifier = Classifier(kind);
        TrainingSteps.OneStepChangesExactly(Loaded.Model, classifier.Encoder.Tensors, tape => classifier.Loss(tape,
            Examples));
    }

    [Fact]
    public void Training_lowers_the_loss_and_the_saved_adapter_reloads_to_the_same_scores()
    {
        var classifier = Classifier(PromptEncoderKind.Mlp, seed: 5);
        TrainingSteps.LossFalls(tape => classifier.Loss(tape, Examples), classifier.Encoder.Tensors, steps: 15);

        using var dir = new TempDirectory();
        classifier.Save(dir.Path, "tinystories");
        var config = AdapterFiles.ReadConfig(dir.Path, "P_TUNING");
        Assert.Equal("MLP", config.GetProperty("encoder_reparameterization_type").GetString());
        Assert.Equal(4, config.GetProperty("num_virtual_tokens").GetInt32());
        Assert.Equal(new[] { 4, Loaded.Model.Config.HiddenSize }, AdapterFiles.OpenWeights(dir.Path)
            .Info("prompt_embeddings").Shape);
        var loaded = PTuningClassifier.Load(dir.Path, Loaded.Model, Loaded.Tokenizer!, Task);
        Assert.Equal(classifier.Template.Text, loaded.Template.Text);
        var expected = classifier.LabelScores(Examples);
        var actual = loaded.LabelScores(Examples);
        for (int e = 0; e < Examples.Length; e++) Assert.Equal(expected[e], actual[e]);
    }
}
