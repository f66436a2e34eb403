using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

/// <summary>A prompt placed after the input, [x; P; y]: scoring, the training loss and the adapter files agree on
/// it.</summary>
public class PromptPlacementTests
{
    private static readonly LoadedModel Loaded = MoodTask.Load();
    private static readonly ClassificationTask Task = MoodTask.Task(" very sad");

    private static readonly LabeledExample[] Examples = [MoodTask.Examples()[0], MoodTask.Example("Tom cried.", "sad")];

    private static PromptEmbedding AfterInputPrompt()
    {
        var prompt = new PromptEmbedding(4, Loaded.Model.Config.HiddenSize) { Placement =
            PromptPlacement.BeforeAnswer };
        prompt.InitializeUniform(5);
        return prompt;
    }

    /// <summary>log Pr(label | x, P) from one forward pass over [embed(x); P; embed(label)] built by hand.</summary>
    private static double Scored(CausalLanguageModel model, PromptEmbedding prompt, int[] input, int[] label)
    {
        var tape = new Tape(recording: false);
        var embeddings = Fn.Concat(tape, 1,
            Fn.Embedding(tape, model.TokenEmbedding, input, 1, input.Length),
            prompt.Prompt.Reshape(1, prompt.Length, prompt.Prompt.Dim(1)),
            Fn.Embedding(tape, model.TokenEmbedding, label, 1, label.Length));
        return SoftPrompt.Tests.Support.ByHand.TargetLogProbability(model, embeddings, input.Length + prompt.Length - 1,
            label);
    }

    [Fact]
    public void Label_scores_and_training_loss_put_the_prompt_between_input_and_answer()
    {
        var model = Loaded.Model;
        var prompt = AfterInputPrompt();
        var classifier = new PromptClassifier(model, Loaded.Tokenizer!, Task, prompt);
        // rows of different lengths, left-padded together
        var scores = classifier.LabelScores(Examples, rowsPerBatch: 4);
        double loss = 0;
        int labelTokens = 0;
        for (int e = 0; e < Examples.Length; e++)
        {
            var input = classifier.InputTokens(Examples[e]);
            for (int l = 0; l < Task.Labels.Count; l++)
                Assert.Equal(Scored(model, prompt, input, classifier.LabelTokens[Task.Labels[l]]), scores[e][l], 1e-3);
            var gold = classifier.LabelTokens[Examples[e].Label];
            loss -= Scored(model, prompt, input, gold);
            labelTokens += gold.Length;
        }
        var tape = new Tape();
        Assert.Equal(loss / labelTokens, classifier.Loss(tape, Examples)[0], 1e-3); // right-padded training rows

        // The same vectors in front of the input score differently: the placement is not a no-op.
        var front = new PromptEmbedding(4, model.Config.HiddenSize);
        prompt.Prompt.ReadOnlySpan.CopyTo(front.Prompt.Span);
        Assert.NotEqual(scores[0][0], new PromptClassifier(model, Loaded.Tokenizer!, Task, front).LabelScores(
            Examples)[0][0], 3);
    }

    [Fact]
    public void Placement_survives_save_and_load_and_generation_refuses_it()
    {
        using var dir = new TempDirectory();
        var prompt = AfterInputPrompt();
        PromptAdapterFiles.Save(dir.Path, prompt, new PromptAdapterFiles.Info("tinystories", 5, 8, "uniform", null,
            "mood"));
        var loaded = PromptAdapterFiles.Load(dir.Path, prompt.Prompt.Dim(1));
        Assert.Equal(PromptPlacement.BeforeAnswer, loaded.Placement);
        Assert.Equal("mood", PromptAdapterFiles.TaskOf(dir.Path));
        var e = Assert.Throws<ArgumentException>(() =>
            new PromptGenerator(Loaded.Model, Loaded.Tokenizer!, new GenerationTask("story", "{start}", " {end}"),
                loaded));
        Assert.Contains("before-answer", e.Message);
        File.WriteAllText(Path.Combine(dir.Path, PromptAdapterFiles.TaskFile),
            "{\"task\": \"mood\", \"placement\": \"sideways\"}");
        var bad = Assert.Throws<SoftPrompt.Engine.IO.ModelFormatException>(() => PromptAdapterFiles.Load(dir.Path,
            prompt.Prompt.Dim(1)));
        Assert.Contains("sideways", bad.Message);
    }
}
