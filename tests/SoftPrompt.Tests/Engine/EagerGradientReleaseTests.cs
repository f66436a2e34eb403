using SoftPrompt.Engine;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Engine;

/// <summary>Activation gradients handed back mid-backward change nothing a training loop reads, and shrink the
/// step.</summary>
public class EagerGradientReleaseTests
{
    private static readonly SoftPrompt.Models.Formats.LoadedModel Loaded = MoodTask.Load();

    private static (float[] PromptGradient, float[] LayerGradient, long PooledBytes) Step(bool eager)
    {
        var model = Loaded.Model;
        model.SetTrainable(name => name.EndsWith("layers.4.attention_norm.weight")
            || name.EndsWith("layers.4.input_layernorm.weight"));
        var prompt = new PromptEmbedding(3, model.Config.HiddenSize);
        prompt.InitializeUniform(2);
        var classifier = new PromptClassifier(model, Loaded.Tokenizer!, MoodTask.Task(), prompt);
        var layer = model.Parameters.First(p => p.Tensor.RequiresGrad).Tensor;
        layer.ZeroGrad();
        var tape = new Tape { ReleaseGradientsEagerly = eager };
        for (int step = 0; step < 2; step++) // the second step runs on the pool the first one filled
        {
            prompt.Prompt.ZeroGrad();
            layer.ZeroGrad();
            tape.Reset();
            tape.Backward(classifier.Loss(tape, MoodTask.Examples()));
        }
        var result = (prompt.Prompt.Grad.ToArray(), layer.Grad.ToArray(), tape.PooledBytes);
        tape.Reset();
        model.SetTrainable(false);
        return result;
    }

    [Fact]
    public void Parameter_gradients_are_bit_identical_and_the_pool_is_smaller()
    {
        var kept = Step(eager: false);
        var released = Step(eager: true);
        Assert.Equal(kept.PromptGradient, released.PromptGradient);
        Assert.Equal(kept.LayerGradient, released.LayerGradient);
        Assert.Contains(released.LayerGradient, g => g != 0);
        Assert.True(released.PooledBytes < kept.PooledBytes * 0.8,
            $"pool {released.PooledBytes:N0} B with eager release vs {kept.PooledBytes:N0} B without");
    }
}
