using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Models;

/// <summary>
/// Logits, loss, the input-embedding gradient and every weight gradient of tiny GPT-2, LLaMA (plain, Llama 3 rope
/// scaling), Qwen2, Qwen3, GPT-NeoX (Pythia) and BERT models against PyTorch (fixtures written by
/// tools/make_parity_fixtures.py, reference computed in float64). The loss goes through each model's own
/// LanguageModelLoss: next-token for the decoders, masked-token (MLM head on scored rows) for BERT, whose batch also
/// has a padded row and two token types.
/// </summary>
public class ModelParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;
    private const double ZeroGradient = 1e-6;

    [Theory]
    [InlineData("gpt2-tiny")]
    [InlineData("llama-tiny")]
    [InlineData("qwen2-tiny")] // LLaMA with q/k/v biases
    [InlineData("qwen3-tiny")] // LLaMA with per-head q/k RMSNorm and head_dim 12 ≠ 32 / 4
    [InlineData("llama3-tiny")] // LLaMA with Llama 3.1's rope_scaling (frequencies kept, blended and divided)
    [InlineData("pythia-tiny")] // GPT-NeoX: per-head fused qkv, rotary on half of each head, parallel residual
    [InlineData("gpt-neox-sequential-tiny")] // GPT-NeoX with use_parallel_residual false
    [InlineData("phi3-tiny")] // LLaMA with fused qkv_proj and gate_up_proj
    // (1 + w) norms around each sublayer, q/k norms, √D embeddings, local and global rotary bases
    [InlineData("gemma3-tiny")]
    [InlineData("bert-tiny")]
    public void Parity_logits_loss_and_gradients_match_pytorch(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "parity", name);
        var model = ModelLoader.Load(dir).Transformer;
        var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        int[] ids = expected.ReadFloat32("input_ids").Select(v => (int)v).ToArray();
        int[] targets = expected.ReadFloat32("targets").Select(v => (int)v).ToArray();
        var shape = expected.Info("input_ids").Shape;
        int batch = shape[0], length = shape[1];
        int[]? tokenTypes = expected.Contains("token_types") ? expected.ReadFloat32("token_types").Select(v => (int)v)
            .ToArray() : null;
        bool[]? padding = expected.Contains("attention_mask") ? expected.ReadFloat32("attention_mask").Select(v =>
            v == 0f).ToArray() : null;

        // Token ids in: the embedding matrix gets its full gradient (lookup + tied head).
        model.SetTrainable(true);
        var tape = new Tape();
        var hidden = model.Hidden(tape, new ForwardInput { Batch = batch, Length = length, TokenIds = ids,
            TokenTypes = tokenTypes, Padding = padding });
        var logits = model.Logits(tape, hidden);
        var loss = model.LanguageModelLoss(tape, hidden, targets);
        Check("logits", logits.ReadOnlySpan, expected.ReadFloat32("logits"));
        Check("loss", loss.ReadOnlySpan, expected.ReadFloat32("loss"));
        tape.Backward(loss);
        foreach (var p in model.Parameters)
            Check("grad " + p.Name, p.Tensor.Grad, ExpectedWeightGradient(expected, p.Name, p.Tensor.Shape));
        tape.Reset();

        // Embeddings in, model frozen: the gradient reaches the inputs and no weight. A freshly loaded model, so any
        // gradient buffer on a weight afterwards was created by this backward pass.
        model = ModelLoader.Load(dir).Transformer;
        model.SetTrainable(false);
        var embeddings = Tensor.Parameter(new[] { batch, length, model.Config.HiddenSize }, trainable: true,
            "inputs_embeds");
        var table = model.TokenEmbedding.ReadOnlySpan;
        int d = model.Config.HiddenSize;
        for (int i = 0; i < ids.Length; i++) table.Slice(ids[i] * d, d).CopyTo(embeddings.Span.Slice(i * d, d));
        hidden = model.Hidden(tape, new ForwardInput { Batch = batch, Length = length, Embeddings = embeddings,
            TokenTypes = tokenTypes, Padding = padding });
        loss = model.LanguageModelLoss(tape, hidden, targets);
        tape.Backward(loss);
        Check("grad inputs_embeds", embeddings.Grad, expected.ReadFloat32("grad.inputs_embeds"));
        Assert.All(model.Parameters, p => Assert.False(p.Tensor.HasGrad,
            $"frozen {p.Name} received a gradient buffer"));
    }

    /// <summary>
    /// A T5 v1.0 (ReLU MLP, tied head scaled by d^−½) and a v1.1 (gated-GELU MLP, untied head, a deeper decoder):
    /// encoder rows with padding and offsets past the buckets' max distance, decoder inputs shifted right from the
    /// targets, loss over the unpadded targets; then frozen, the gradient reaches only the encoder's input embeddings
    /// (what prompt tuning trains).
    /// </summary>
    [Theory]
    [InlineData("t5-tiny")]
    [InlineData("t5-v1_1-tiny")]
    public void Parity_t5_logits_loss_and_gradients_match_pytorch(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "parity", name);
        var model = ModelLoader.LoadT5(dir).Model;
        var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        int[] ids = expected.ReadFloat32("input_ids").Select(v => (int)v).ToArray();
        int[] targets = expected.ReadFloat32("targets").Select(v => (int)v).ToArray();
        bool[] padding = expected.ReadFloat32("attention_mask").Select(v => v == 0f).ToArray();
        int batch = expected.Info("input_ids").Shape[0], source = expected.Info("input_ids").Shape[1];
        int target = expected.Info("targets").Shape[1];
        int[] decoderIds = model.ShiftRight(targets, batch, target);

        model.SetTrainable(true);
        var tape = new Tape();
        var encoded = model.Encode(tape, new ForwardInput { Batch = batch, Length = source, TokenIds = ids,
            Padding = padding });
        var decoded = model.Decode(tape, new ForwardInput { Batch = batch, Length = target, TokenIds = decoderIds },
            encoded, padding);
        var logits = model.Logits(tape, decoded);
        var loss = model.Loss(tape, decoded, targets);
        Check("logits", logits.ReadOnlySpan, expected.ReadFloat32("logits"));
        Check("loss", loss.ReadOnlySpan, expected.ReadFloat32("loss"));
        tape.Backward(loss);
        foreach (var p in model.Parameters)
            Check("grad " + p.Name, p.Tensor.Grad, expected.ReadFloat32("grad." + p.Name));
        tape.Reset();

        model = ModelLoader.LoadT5(dir).Model;
        model.SetTrainable(false);
        int d = model.Config.HiddenSize;
        var embeddings = Tensor.Parameter(new[] { batch, source, d }, trainable: true, "inputs_embeds");
        for (int i = 0; i < ids.Length; i++) model.TokenEmbedding.ReadOnlySpan.Slice(ids[i] * d,
            d).CopyTo(embeddings.Span.Slice(i * d, d));
        encoded = model.Encode(tape, new ForwardInput { Batch = batch, Length = source, Embeddings = embeddings,
            Padding = padding });
        decoded = model.Decode(tape, new ForwardInput { Batch = batch, Length = target, TokenIds = decoderIds },
            encoded, padding);
        loss = model.Loss(tape, decoded, targets);
        tape.Backward(loss);
        Check("grad inputs_embeds", embeddings.Grad, expected.ReadFloat32("grad.inputs_embeds"));
        Assert.All(model.Parameters, p => Assert.False(p.Tensor.HasGrad,
            $"frozen {p.Name} received a gradient buffer"));
    }

    private static float[] ExpectedWeightGradient(SafeTensorsFile expected, string name, int[] ourShape)
    {
        string fileName = ModelLoader.FileTensorName(expected, "grad.", name);
        var grad = expected.ReadFloat32(fileName);
        return ModelLoader.IsConv1D(name) ? ModelLoader.Transpose(grad, ourShape[1], ourShape[0]) : grad;
    }

    private void Check(string what, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        // A gradient that is zero in exact arithmetic (BERT's key biases: a shift shared by every key leaves the
        // softmax unchanged) has no scale to be relative to; both sides are rounding noise, so it is held to an
        // absolute bound.
        double scale = 0;
        foreach (float e in expected) scale = Math.Max(scale, Math.Abs(e));
        if (scale < ZeroGradient)
        {
            double largest = 0;
            foreach (float a in actual) largest = Math.Max(largest, Math.Abs(a));
            output.WriteLine($"{what}: zero in exact arithmetic; largest entry {largest:E2}");
            Assert.True(largest <= ZeroGradient, $"{what}: should vanish, but has an entry of {largest:E2}");
            return;
        }
        double err = Compare.MaxRelativeError(actual, expected);
        output.WriteLine($"{what}: max relative error {err:E2}");
        Assert.True(err <= Tolerance, $"{what}: max relative error {err:E2} > {Tolerance:E0}");
    }
}
