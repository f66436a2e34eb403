using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models;

/// <summary>The shape of a Vision Transformer; config.json uses Hugging Face's ViTConfig keys (see VitFiles).</summary>
public sealed record VitConfig
{
    public required int ImageSize { get; init; }
    public required int PatchSize { get; init; }
    public int Channels { get; init; } = 1;
    public required int HiddenSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int IntermediateSize { get; init; }
    public float NormEps { get; init; } = 1e-12f;
    /// <summary>The classifier's classes, in label order (config.json's id2label).</summary>
    public required IReadOnlyList<string> Labels { get; init; }

    public int PatchesPerSide => ImageSize / PatchSize;
    public int Patches => PatchesPerSide * PatchesPerSide;
    /// <summary>Values in one flattened patch: the input width of the patch embedding.</summary>
    public int PatchWidth => Channels * PatchSize * PatchSize;
    public int PixelsPerImage => Channels * ImageSize * ImageSize;

    /// <summary>Values in all parameters, computed without allocating any, so a loader can check a file can hold
    /// them.</summary>
    public long ParameterCount
    {
        get
        {
            long d = HiddenSize, f = IntermediateSize, labels = Labels.Count;
            long embeddings = d + (Patches + 1L) * d + d * PatchWidth + d;
            long layer = 4 * d + 4 * (d * d + d) + (f * d + f) + (d * f + d);
            return embeddings + NumLayers * layer + 2 * d + labels * d + labels;
        }
    }

    /// <summary>Throws with a message naming the first inconsistent field. The upper bounds, far above any model here,
    /// keep every tensor's element count within an int.</summary>
    public void Validate(string source)
    {
        void Need(bool ok, string what) { if (!ok) throw new InvalidDataException($"{source}: {what}"); }
        Need(PatchSize is > 0 and <= 64 && ImageSize is > 0 and <= 4096 && ImageSize % PatchSize == 0,
            $"image size {ImageSize} must be a multiple of patch size {PatchSize} (at most 4096 and 64).");
        Need(Patches <= 65536, $"{Patches} patches are more than 65,536.");
        Need(Channels is > 0 and <= 16, $"channels must be within 1..16 (got {Channels}).");
        Need(HiddenSize is > 0 and <= 16384 && NumHeads > 0 && HiddenSize % NumHeads == 0,
            $"hidden size {HiddenSize} (at most 16,384) is not divisible by {NumHeads} attention heads.");
        Need(NumLayers is > 0 and <= 1024, $"number of layers must be within 1..1024 (got {NumLayers}).");
        Need(IntermediateSize is > 0 and <= 65536,
            $"intermediate size must be within 1..65,536 (got {IntermediateSize}).");
        Need(Labels.Count is >= 2 and <= 65536, $"a classifier needs 2..65,536 labels (got {Labels.Count}).");
    }
}

/// <summary>What an adapter may do to the token sequence (B, T, D) before each encoder layer: visual prompt tuning
/// inserts or replaces prompt rows there.</summary>
public interface IVitLayerInput
{
    Tensor LayerInput(Tape tape, int layer, Tensor hidden);
}

/// <summary>
/// ViT (Dosovitskiy et al. 2021) as Hugging Face's ViTForImageClassification: non-overlapping patches embedded by a
/// linear map (the stride-P convolution), a CLS token in front, learned positions, pre-LayerNorm encoder blocks with
/// bidirectional attention, a final LayerNorm, and a linear classifier on the CLS row. Parameters carry HF's names;
/// the patch projection keeps the convolution's (D, C, P, P) shape. The MLP uses the tanh GELU (hidden_act
/// "gelu_new"), the one our engine has.
/// </summary>
public sealed class Vit : ParameterizedModel
{
    private sealed record BlockWeights(
        Tensor LnBeforeGain, Tensor LnBeforeBias,
        Tensor QueryWeight, Tensor QueryBias, // (D, D), (D)
        Tensor KeyWeight, Tensor KeyBias,     // (D, D), (D)
        Tensor ValueWeight, Tensor ValueBias, // (D, D), (D)
        Tensor AttnOutWeight, Tensor AttnOutBias, // (D, D), (D)
        Tensor LnAfterGain, Tensor LnAfterBias,
        Tensor FcWeight, Tensor FcBias,           // (F, D), (F)
        Tensor ProjWeight, Tensor ProjBias);      // (D, F), (D)

    private readonly Tensor _clsToken, _positions, _patchWeight, _patchBias, _lnFinalGain, _lnFinalBias;
    private readonly BlockWeights[] _blocks;

    public Vit(VitConfig config)
    {
        config.Validate("ViT config");
        Config = config;
        int d = config.HiddenSize, f = config.IntermediateSize;
        _clsToken = Add("vit.embeddings.cls_token", 1, 1, d);
        _positions = Add("vit.embeddings.position_embeddings", 1, config.Patches + 1, d);
        _patchWeight = Add("vit.embeddings.patch_embeddings.projection.weight", d, config.Channels, config.PatchSize,
            config.PatchSize);
        _patchBias = Add("vit.embeddings.patch_embeddings.projection.bias", d);
        _blocks = new BlockWeights[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = $"vit.encoder.layer.{i}.";
            _blocks[i] = new BlockWeights(
                Add(p + "layernorm_before.weight", d), Add(p + "layernorm_before.bias", d),
                Add(p + "attention.attention.query.weight", d, d), Add(p + "attention.attention.query.bias", d),
                Add(p + "attention.attention.key.weight", d, d), Add(p + "attention.attention.key.bias", d),
                Add(p + "attention.attention.value.weight", d, d), Add(p + "attention.attention.value.bias", d),
                Add(p + "attention.output.dense.weight", d, d), Add(p + "attention.output.dense.bias", d),
                Add(p + "layernorm_after.weight", d), Add(p + "layernorm_after.bias", d),
                Add(p + "intermediate.dense.weight", f, d), Add(p + "intermediate.dense.bias", f),
                Add(p + "output.dense.weight", d, f), Add(p + "output.dense.bias", d));
        }
        _lnFinalGain = Add("vit.layernorm.weight", d);
        _lnFinalBias = Add("vit.layernorm.bias", d);
        ClassifierWeight = Add("classifier.weight", config.Labels.Count, d);
        ClassifierBias = Add("classifier.bias", config.Labels.Count);
    }

    public VitConfig Config { get; }
    public Tensor ClassifierWeight { get; }
    public Tensor ClassifierBias { get; }

    /// <summary>Everything but the pretraining classifier: what a new task's adaptation starts from.</summary>
    public IEnumerable<NamedParameter> Backbone => Parameters.Where(p => !p.Name.StartsWith("classifier."));

    /// <summary>The pretraining classifier's scores (B, classes) of images (B, C·H·W).</summary>
    public Tensor Logits(Tape tape, float[] pixels, int batch, IVitLayerInput? adapter = null) =>
        Fn.Linear(tape, Features(tape, pixels, batch, adapter), ClassifierWeight, ClassifierBias);

    /// <summary>The final-norm CLS row (B, D): what a classifier reads.</summary>
    public Tensor Features(Tape tape, float[] pixels, int batch, IVitLayerInput? adapter = null)
    {
        var h = Hidden(tape, pixels, batch, adapter);
        return Fn.Slice(tape, h, 1, 0, 1).Reshape(batch, Config.HiddenSize);
    }

    /// <summary>Final-norm hidden states (B, T, D) of [CLS; prompts an adapter inserted; patches].</summary>
    public Tensor Hidden(Tape tape, float[] pixels, int batch, IVitLayerInput? adapter = null)
    {
        var h = Embeddings(tape, pixels, batch);
        for (int layer = 0; layer < Config.NumLayers; layer++)
        {
            if (adapter is not null) h = adapter.LayerInput(tape, layer, h);
            h = Block(tape, _blocks[layer], h);
        }
        return Fn.LayerNorm(tape, h, _lnFinalGain, _lnFinalBias, Config.NormEps);
    }

    /// <summary>[CLS; patch embeddings] + positions, (B, 1 + N, D).</summary>
    private Tensor Embeddings(Tape tape, float[] pixels, int batch)
    {
        int d = Config.HiddenSize, tokens = Config.Patches + 1;
        // A stride-P convolution with a P×P kernel is a linear map of each flattened patch.
        var patches = Fn.Linear(tape, Patchify(pixels, batch), _patchWeight.Reshape(d, Config.PatchWidth), _patchBias);
        // Repeating one row per image is a lookup of row 0; its backward sums the batch's gradients into the token.
        var cls = Fn.Embedding(tape, _clsToken.Reshape(1, d), new int[batch], batch, 1);
        var h = Fn.Concat(tape, 1, cls, patches);
        var positionIds = new int[batch * tokens];
        for (int i = 0; i < positionIds.Length; i++) positionIds[i] = i % tokens;
        return Fn.Add(tape, h, Fn.Embedding(tape, _positions.Reshape(tokens, d), positionIds, batch, tokens));
    }

    /// <summary>
    /// Images (B, C, H, W) flattened → patches (B, N, C·P·P): patches row by row, each flattened as (c, y, x), the
    /// order in which the convolution's (D, C, P, P) kernel is flattened. Pixels are data, so no gradient is kept.
    /// </summary>
    private Tensor Patchify(float[] pixels, int batch)
    {
        var c = Config;
        if (pixels.Length != batch * c.PixelsPerImage)
            throw new ArgumentException(
                $"ViT: {pixels.Length} pixel values are not {batch} images of " +
                    $"{c.Channels}×{c.ImageSize}×{c.ImageSize}.");
        var patches = new float[pixels.Length];
        int p = c.PatchSize, side = c.PatchesPerSide, o = 0;
        for (int b = 0; b < batch; b++)
            for (int py = 0; py < side; py++)
                for (int px = 0; px < side; px++)
                    for (int ch = 0; ch < c.Channels; ch++)
                        for (int y = 0; y < p; y++)
                        {
                            int row = ((b * c.Channels + ch) * c.ImageSize + py * p + y) * c.ImageSize + px * p;
                            pixels.AsSpan(row, p).CopyTo(patches.AsSpan(o));
                            o += p;
                        }
        return Tensor.FromArray(patches, [batch, c.Patches, c.PatchWidth]);
    }

    private Tensor Block(Tape tape, BlockWeights w, Tensor h)
    {
        float eps = Config.NormEps;

        // h = h + attention(layernorm_before(h)); every token sees every other (no causal mask).
        var a = Fn.LayerNorm(tape, h, w.LnBeforeGain, w.LnBeforeBias, eps);
        var attended = Fn.Attention(tape,
            Fn.Linear(tape, a, w.QueryWeight, w.QueryBias), Fn.Linear(tape, a, w.KeyWeight, w.KeyBias),
            Fn.Linear(tape, a, w.ValueWeight, w.ValueBias),
            Config.NumHeads, Config.NumHeads, causal: false);
        h = Fn.Add(tape, h, Fn.Linear(tape, attended, w.AttnOutWeight, w.AttnOutBias));

        // h = h + mlp(layernorm_after(h))
        var m = Fn.LayerNorm(tape, h, w.LnAfterGain, w.LnAfterBias, eps);
        m = Fn.Gelu(tape, Fn.Linear(tape, m, w.FcWeight, w.FcBias));
        return Fn.Add(tape, h, Fn.Linear(tape, m, w.ProjWeight, w.ProjBias));
    }

    /// <summary>HF's ViT init: Normal(0, 0.02) for weights and the CLS and position embeddings, zero biases, unit norm
    /// gains.</summary>
    public void InitializeRandom(int seed, float std = 0.02f)
    {
        var rng = new Random(seed);
        foreach (var p in Parameters)
        {
            var s = p.Tensor.Span;
            if (p.Name.Contains("layernorm") && p.Name.EndsWith(".weight")) { s.Fill(1f); continue; }
            if (p.Name.EndsWith(".bias")) { s.Clear(); continue; }
            for (int i = 0; i < s.Length; i++) s[i] = std * Gaussian(rng);
        }
    }
}
