using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tests.Support;

/// <summary>The toy classification task the tuning tests share, over the real TinyStories model.</summary>
public static class MoodTask
{
    /// <summary>A model of the test class's own: xunit runs classes in parallel, and tests flip which weights
    /// train.</summary>
    public static LoadedModel Load() => ModelLoader.Load(SharedModels.TinyStoriesPath);

    /// <summary>"happy" / "sad"; <paramref name="sadWords"/> " very sad" gives labels of different token
    /// lengths.</summary>
    public static ClassificationTask Task(string sadWords = " sad") =>
        new("mood", "Story: {text}\nThe mood was", new Dictionary<string, string> { ["happy"] = " happy",
            ["sad"] = sadWords });

    public static LabeledExample Example(string text, string label) => new(new Dictionary<string,
        string> { ["text"] = text }, label);

    /// <summary>Three stories of different lengths and both labels.</summary>
    public static LabeledExample[] Examples() =>
    [
        Example("Lily played with her dog in the sun.", "happy"),
        Example("Tom lost his red ball and cried.", "sad"),
        Example("The bird sang a song for the kids at the big party.", "happy"),
    ];

    /// <summary>What a memory-saving mode of the tape or model must leave unchanged: two prompt-tuning steps (the
    /// second on the pools the first filled) with one norm of block 4 training too, on <paramref name="tape"/>.
    /// Returns the last step's loss and gradients and the bytes the tape pooled; leaves the model frozen.</summary>
    public static (float[] PromptGradient, float[] LayerGradient, float Loss, long PooledBytes) TwoSteps(
        LoadedModel loaded, Tape tape)
    {
        var model = loaded.Model;
        model.SetTrainable(name => name.EndsWith("layers.4.attention_norm.weight")
            || name.EndsWith("layers.4.input_layernorm.weight"));
        var prompt = new PromptEmbedding(3, model.Config.HiddenSize);
        prompt.InitializeUniform(2);
        var classifier = new PromptClassifier(model, loaded.Tokenizer!, Task(), prompt);
        var layer = model.Parameters.First(p => p.Tensor.RequiresGrad).Tensor;
        layer.ZeroGrad();
        float loss = 0;
        for (int step = 0; step < 2; step++)
        {
            prompt.Prompt.ZeroGrad();
            layer.ZeroGrad();
            tape.Reset();
            var lossTensor = classifier.Loss(tape, Examples());
            loss = lossTensor[0];
            tape.Backward(lossTensor);
        }
        var result = (prompt.Prompt.Grad.ToArray(), layer.Grad.ToArray(), loss, tape.PooledBytes);
        tape.Reset();
        model.SetTrainable(false);
        return result;
    }
}
