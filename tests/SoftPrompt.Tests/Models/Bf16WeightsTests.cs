using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Engine.Kernels;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tests.Tuning;
using Xunit;

namespace SoftPrompt.Tests.Models;

/// <summary>
/// A bf16 checkpoint's block matrices kept in bfloat16 (ModelLoader.Load(bf16Weights: true)). Widened for each product
/// (CPUs without AVX512_BF16) they compute exactly what the same checkpoint widened to float32 at load computes:
/// widening is exact and the products are the same float32 products. In the bfloat16 kernels (activations rounded to
/// bfloat16) they stay within a small relative error of it. Checked on every decoder family: logits, and the gradient
/// a soft prompt receives through the frozen model.
/// </summary>
public class Bf16WeightsTests
{
    [Theory]
    [MemberData(nameof(Families))]
    public void Widened_for_each_product_the_weights_give_the_float32_logits_and_prompt_gradients_exactly(string family)
    {
        var (wide, half) = LoadBothWays(family);
        bool kernels = Bf16Gemm.Enabled;
        Bf16Gemm.Enabled = false; // this thread only
        try
        {
            var (wideLogits, wideGrad) = ForwardAndPromptGradient(wide);
            var (halfLogits, halfGrad) = ForwardAndPromptGradient(half);
            Assert.Equal(wideLogits, halfLogits);
            Assert.Equal(wideGrad, halfGrad);
        }
        finally { Bf16Gemm.Enabled = kernels; }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void In_the_bf16_kernels_logits_stay_within_1_and_prompt_gradients_within_3_percent_of_float32(string family)
    {
        Assert.True(Bf16Gemm.Enabled, "these machines have AVX512_BF16 (CI too): the kernels must be in use");
        var (wide, half) = LoadBothWays(family);
        var (wideLogits, wideGrad) = ForwardAndPromptGradient(wide);
        var (halfLogits, halfGrad) = ForwardAndPromptGradient(half);
        // Relative to the vector's size. Rounding each product's input to bfloat16 (8 bits) moves the logits of these
        // 2-layer, 16-wide random models by 0.2–0.7 % and the prompt's gradient by 0.5–2.2 % (most of it from the
        // forward pass: the gradient is taken at slightly moved activations; the input-gradient products in float32
        // change it by under 0.2 points). A wrong packing or kernel is off by the whole value. GPT-2's shape is
        // measured by `softprompt bench --cases bf16-accuracy`.
        Assert.InRange(RelativeDistance(halfLogits, wideLogits), 1e-7, 0.01);
        Assert.InRange(RelativeDistance(halfGrad, wideGrad), 1e-7, 0.03);
    }

    /// <summary>|actual − expected| / |expected| (Euclidean): the reduced-precision tests' measure.</summary>
    internal static double RelativeDistance(float[] actual, float[] expected)
    {
        double difference = 0, size = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            difference += Math.Pow(actual[i] - expected[i], 2);
            size += Math.Pow(expected[i], 2);
        }
        return Math.Sqrt(difference / size);
    }

    private static (CausalLanguageModel Wide, CausalLanguageModel Half) LoadBothWays(string family)
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
        return (wide, half);
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

    [Fact]
    public void Past_the_budget_for_kept_input_gradient_operands_the_rebuilt_ones_give_the_same_gradients()
    {
        var (_, kept) = LoadBothWays("qwen2");
        var (_, rebuilt) = LoadBothWays("qwen2");
        var (keptLogits, keptGrad) = ForwardAndPromptGradient(kept);
        long budget = MemoryOptions.KeptInputGradientBytes;
        MemoryOptions.KeptInputGradientBytes = 0; // process-wide, but either way every product is the same
        try
        {
            var (rebuiltLogits, rebuiltGrad) = ForwardAndPromptGradient(rebuilt);
            Assert.Equal(keptLogits, rebuiltLogits);
            Assert.Equal(keptGrad, rebuiltGrad);
        }
        finally { MemoryOptions.KeptInputGradientBytes = budget; }
        Assert.Throws<ArgumentOutOfRangeException>(() => MemoryOptions.KeptInputGradientBytes = -1);
    }

    [Fact]
    public void After_the_kernels_packed_a_weight_its_values_still_read_back_exactly()
    {
        var (wide, half) = LoadBothWays("llama");
        ForwardAndPromptGradient(half); // packs every block matrix both ways; the file-order copy is dropped
        foreach (var p in half.Parameters.Where(p => p.Tensor.IsBf16))
        {
            var values = new float[p.Tensor.Length];
            p.Tensor.WidenTo(values);
            Assert.Equal(wide.Parameters.Single(q => q.Name == p.Name).Tensor.ToArray(), values);
        }
        var weight = half.Parameters.First(p => p.Tensor.IsBf16);
        weight.Tensor.RequiresGrad = true;
        Assert.Equal(wide.Parameters.Single(q => q.Name == weight.Name).Tensor.ToArray(), weight.Tensor.ToArray());
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
