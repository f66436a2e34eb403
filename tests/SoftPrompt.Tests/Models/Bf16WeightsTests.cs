using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tests.Tuning;
using Xunit;

namespace SoftPrompt.Tests.Models;

/// <summary>
/// A bf16 checkpoint's block matrices kept in bfloat16 (ModelLoader.Load(bf16Weights: true)) compute exactly what the
/// same checkpoint widened to float32 at load computes: widening is exact and the products are the same float32
/// products. Checked on every decoder family: logits, and the gradient a soft prompt receives through the frozen model.
/// </summary>
public class Bf16WeightsTests
{
    [Theory]
    [MemberData(nameof(Families))]
    public void Held_in_bf16_the_weights_give_the_float32_logits_and_prompt_gradients_exactly(string family)
    {
        using var dir = new TempDirectory();
        var written = LayerAdapterKit.TinyRandom(family);
        ModelLoader.Save(written, dir.Path, SafeTensorsDType.BF16);
        var wide = ModelLoader.Load(dir.Path).Model;
        var half = ModelLoader.Load(dir.Path, bf16Weights: true).Model;
        wide.SetTrainable(false);
        Assert.Contains(half.Parameters, p => p.Tensor.IsBf16);
        Assert.DoesNotContain(wide.Parameters, p => p.Tensor.IsBf16);
        Assert.DoesNotContain(half.Parameters, p => p.Tensor.IsBf16 && p.Layer is null); // embeddings stay float32

        var (wideLogits, wideGrad) = ForwardAndPromptGradient(wide);
        var (halfLogits, halfGrad) = ForwardAndPromptGradient(half);
        Assert.Equal(wideLogits, halfLogits);
        Assert.Equal(wideGrad, halfGrad);
    }

    [Fact]
    public void A_bf16_weight_made_trainable_is_widened_and_its_storage_is_not_read_by_mistake()
    {
        using var dir = new TempDirectory();
        ModelLoader.Save(LayerAdapterKit.TinyRandom("llama"), dir.Path, SafeTensorsDType.BF16);
        var reference = ModelLoader.Load(dir.Path).Model;
        var model = ModelLoader.Load(dir.Path, bf16Weights: true).Model;
        var (name, weight) = model.Parameters.Where(p => p.Tensor.IsBf16).Select(p => (p.Name, p.Tensor)).First();
        var error = Assert.Throws<InvalidOperationException>(() => weight.Span.ToArray());
        Assert.Contains("bfloat16", error.Message);
        weight.RequiresGrad = true;
        Assert.False(weight.IsBf16);
        Assert.Equal(reference.Parameters.Single(p => p.Name == name).Tensor.ToArray(), weight.ToArray());
    }

    public static TheoryData<string> Families() => new(LayerAdapterKit.Families);

    private static (float[] Logits, float[] PromptGradient) ForwardAndPromptGradient(CausalLanguageModel model)
    {
        int d = model.Config.HiddenSize, prompt = 3, tokens = 5;
        var tape = new Tape();
        var promptVectors = Tensor.Parameter(new[] { prompt, d }, trainable: true, "prompt");
        var rng = new Random(7);
        for (int i = 0; i < promptVectors.Length; i++) promptVectors[i] = (float)(rng.NextDouble() - 0.5);
        var ids = Enumerable.Range(0, tokens).Select(i => (i * 7 + 3) % model.Config.VocabSize).ToArray();
        var text = Fn.Embedding(tape, model.TokenEmbedding, ids, tokens);
        var embeddings = Fn.Concat(tape, 0, promptVectors, text).Reshape(1, prompt + tokens, d);
        var hidden = model.Hidden(tape, new ForwardInput { Batch = 1, Length = prompt + tokens,
            Embeddings = embeddings });
        var logits = model.Logits(tape, hidden);
        var targets = Enumerable.Range(0, prompt + tokens).Select(i => (i * 5 + 1) % model.Config.VocabSize).ToArray();
        var loss = Fn.CrossEntropy(tape, logits.Reshape(prompt + tokens, model.Config.VocabSize), targets);
        tape.Backward(loss);
        return (logits.ToArray(), promptVectors.Grad.ToArray());
    }
}
