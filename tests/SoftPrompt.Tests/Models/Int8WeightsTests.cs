using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tests.Tuning;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Models;

/// <summary>
/// Block matrices held in int8 for inference (<see cref="ParameterizedModel.HoldBlockMatricesInInt8"/>, `--weights
/// int8`): on every decoder family the logits stay near float32's, a shipped base's loss on held-out prose moves by
/// under 1 %, and the weights read back (or train) as their dequantized values.
/// </summary>
public class Int8WeightsTests(ITestOutputHelper output)
{
    [Theory]
    [MemberData(nameof(Families))]
    public void Logits_through_int8_weights_stay_within_3_percent_of_float32(string family)
    {
        var (wide, quantized) = LoadBothWays(family);
        var wideLogits = Logits(wide);
        var int8Logits = Logits(quantized);
        // Relative to the logits' size. Weights and activations each rounded to 8 bits move these 2-layer, 16-wide
        // random models' logits by about 1 %; a wrong scale, offset or layout is off by the whole value.
        Assert.InRange(Bf16WeightsTests.RelativeDistance(int8Logits, wideLogits), 1e-6, 0.03);
    }

    [Theory]
    [InlineData("models/base-small")]
    [InlineData("models/base-adapted")]
    public void A_shipped_base_in_int8_finds_held_out_prose_as_likely_within_1_percent(string path)
    {
        const string text = "The morning was cold, and the old man walked slowly to the market with his basket. He " +
            "bought bread, a little cheese and some apples, and then he sat down on a bench to watch the people pass.";
        var loaded = ModelLoader.Load(ShippedModelTests.RepositoryPath(path), bf16Weights: true);
        var ids = new List<int> { loaded.Tokenizer!.EosId!.Value };
        ids.AddRange(loaded.Tokenizer.Encode(text));
        float before = Loss(loaded.Model, ids);
        Assert.True(loaded.Model.HoldBlockMatricesInInt8() > 0);
        float after = Loss(loaded.Model, ids);
        output.WriteLine($"{path}: mean loss {before:F4} nats (bf16 weights) → {after:F4} (int8)");
        Assert.InRange(Math.Abs(after - before) / before, 1e-6, 0.01);
    }

    [Fact]
    public void An_int8_weight_reads_back_dequantized_and_widens_when_it_trains()
    {
        var (wide, quantized) = LoadBothWays("llama");
        var (name, weight) = quantized.Parameters.Where(p => p.Tensor.IsInt8).Select(p => (p.Name, p.Tensor)).First();
        var error = Assert.Throws<InvalidOperationException>(() => weight.Span.ToArray());
        Assert.Contains("int8", error.Message);
        var original = wide.Parameters.Single(p => p.Name == name).Tensor.ToArray();
        var values = new float[weight.Length];
        weight.WidenTo(values);
        float largest = original.Max(Math.Abs);
        for (int i = 0; i < values.Length; i++) Assert.True(Math.Abs(values[i] - original[i]) <= largest / 127,
            $"{name}[{i}]: {values[i]} read back for {original[i]}");
        weight.RequiresGrad = true;
        Assert.False(weight.IsInt8);
        Assert.Equal(values, weight.ToArray());
        Assert.Throws<InvalidOperationException>(() => weight.HoldAsInt8()); // trainable now
    }

    public static TheoryData<string> Families() => new(LayerAdapterKit.Families);

    private static (CausalLanguageModel Wide, CausalLanguageModel Quantized) LoadBothWays(string family)
    {
        using var dir = new TempDirectory();
        ModelLoader.Save(LayerAdapterKit.TinyRandom(family), dir.Path, SafeTensorsDType.F32);
        var wide = ModelLoader.Load(dir.Path).Model;
        var quantized = ModelLoader.Load(dir.Path).Model;
        wide.SetTrainable(false);
        quantized.SetTrainable(false);
        Assert.True(quantized.HoldBlockMatricesInInt8() > 0);
        Assert.DoesNotContain(quantized.Parameters, p => p.Tensor.IsInt8 && p.Layer is null); // embeddings stay
        return (wide, quantized);
    }

    private static float[] Logits(CausalLanguageModel model)
    {
        var ids = Enumerable.Range(0, 6).Select(i => (i * 7 + 3) % model.Config.VocabSize).ToArray();
        var tape = new Tape(recording: false);
        var hidden = model.Hidden(tape, new ForwardInput { Batch = 1, Length = ids.Length, TokenIds = ids });
        return model.Logits(tape, hidden).ToArray();
    }

    private static float Loss(CausalLanguageModel model, List<int> ids)
    {
        int n = ids.Count - 1;
        var tape = new Tape(recording: false);
        var hidden = model.Hidden(tape, new ForwardInput { Batch = 1, Length = n, TokenIds = ids.Take(n).ToArray() });
        // through Logits, as decoding reads them: the LM head's int8 copy too
        var logits = model.Logits(tape, hidden).Reshape(n, model.Config.VocabSize);
        return Fn.CrossEntropy(tape, logits, ids.Skip(1).ToArray())[0];
    }
}
