using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Models;

/// <summary>
/// GPT-NeoX (Black et al. 2022), the architecture of the Pythia suite: LayerNorm with biases, one fused query/key/value
/// projection whose output is grouped per head ([q k v] of head 0, then of head 1, …), rotary positions on only the
/// first rotary_pct of each head's dimensions, GELU MLP with biases, and (use_parallel_residual) attention and MLP both
/// reading the block's input: h + attn(ln₁(h)) + mlp(ln₂(h)). The LM head (embed_out) is its own matrix.
/// </summary>
public sealed class GptNeoX : CausalLanguageModel
{
    private sealed record BlockWeights(
        Tensor Ln1Gain, Tensor Ln1Bias, Tensor Ln2Gain, Tensor Ln2Bias, // (D) each
        Tensor Qkv, Tensor QkvBias,                                      // (3D, D), (3D): per head [q; k; v]
        Tensor Dense, Tensor DenseBias,                                  // (D, D), (D)
        Tensor Up, Tensor UpBias, Tensor Down, Tensor DownBias);        // (F, D), (F), (D, F), (D)

    private readonly Tensor _embed, _finalGain, _finalBias, _head;
    private readonly BlockWeights[] _blocks;
    private readonly int _rotaryDims;
    private readonly bool _exactGelu;

    public GptNeoX(ModelConfig config) : base(config)
    {
        if (config.Architecture != Architecture.GptNeoX)
            throw new ArgumentException($"A {config.Architecture} config is not a GPT-NeoX config.");
        int d = config.HiddenSize, f = config.IntermediateSize;
        _embed = Add("gpt_neox.embed_in.weight", ParameterRole.TokenEmbedding, null, config.VocabSize, d);
        _blocks = new BlockWeights[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = $"gpt_neox.layers.{i}.";
            _blocks[i] = new BlockWeights(
                Add(p + "input_layernorm.weight", ParameterRole.Norm, i, d), Add(p + "input_layernorm.bias",
                    ParameterRole.Norm | ParameterRole.Bias, i, d),
                Add(p + "post_attention_layernorm.weight", ParameterRole.Norm, i, d),
                Add(p + "post_attention_layernorm.bias", ParameterRole.Norm | ParameterRole.Bias, i, d),
                Add(p + "attention.query_key_value.weight", Qkv, i, 3 * d, d), Add(p + "attention.query_key_value.bias",
                    Qkv | ParameterRole.Bias, i, 3 * d),
                Add(p + "attention.dense.weight", ParameterRole.AttentionOutput, i, d, d),
                Add(p + "attention.dense.bias", ParameterRole.AttentionOutput | ParameterRole.Bias, i, d),
                Add(p + "mlp.dense_h_to_4h.weight", ParameterRole.MlpUp, i, f, d), Add(p + "mlp.dense_h_to_4h.bias",
                    ParameterRole.MlpUp | ParameterRole.Bias, i, f),
                Add(p + "mlp.dense_4h_to_h.weight", ParameterRole.MlpDown, i, d, f), Add(p + "mlp.dense_4h_to_h.bias",
                    ParameterRole.MlpDown | ParameterRole.Bias, i, d));
        }
        _finalGain = Add("gpt_neox.final_layer_norm.weight", ParameterRole.FinalNorm, null, d);
        _finalBias = Add("gpt_neox.final_layer_norm.bias", ParameterRole.FinalNorm | ParameterRole.Bias, null, d);
        _head = config.TieWordEmbeddings ? _embed : Add("embed_out.weight", ParameterRole.LanguageModelHead, null,
            config.VocabSize, d);
        _rotaryDims = config.RotaryDims;
        _exactGelu = (config.HiddenAct ?? "gelu") == "gelu";
    }

    public override Tensor TokenEmbedding => _embed;
    protected override Tensor LmHead => _head;

    protected override Tensor Block(Tape tape, int layer, Tensor h, LayerContext context)
    {
        var w = _blocks[layer];
        float eps = Config.NormEps;

        // attention on ln₁(h): queries and keys rotated on their first rotary dims
        var a = Fn.LayerNorm(tape, h, w.Ln1Gain, w.Ln1Bias, eps);
        var (q, k, v) = QueriesKeysValues(tape, layer, a, context);
        q = RotatePart(tape, q, context.Positions);
        k = RotatePart(tape, k, context.Positions);
        var attended = Project(tape, context, layer, Attend(tape, layer, q, k, v, context), w.Dense, w.DenseBias);
        attended = SublayerOutput(tape, context, layer, Sublayer.Attention, attended);

        // parallel: mlp(ln₂(h)) beside the attention; sequential: mlp(ln₂(h + attention))
        var input = Config.ParallelResidual ? h : Fn.Add(tape, h, attended);
        var m = Fn.LayerNorm(tape, input, w.Ln2Gain, w.Ln2Bias, eps);
        m = Activation(tape, Project(tape, context, layer, m, w.Up, w.UpBias));
        m = SublayerOutput(tape, context, layer, Sublayer.FeedForward, Project(tape, context, layer, m, w.Down,
            w.DownBias));
        return Config.ParallelResidual ? Fn.Add(tape, Fn.Add(tape, h, attended), m) : Fn.Add(tape, input, m);
    }

    /// <summary>x (B, T, D) → q, k, v (B, T, D) each, out of the fused projection's per-head [q k v] groups.</summary>
    private (Tensor Q, Tensor K, Tensor V) QueriesKeysValues(Tape tape, int layer, Tensor x, LayerContext context)
    {
        var w = _blocks[layer];
        int hd = Config.HeadDim;
        var fused = Project(tape, context, layer, x, w.Qkv, w.QkvBias);          // (B, T, H·3hd)
        var parts = Fn.Split(tape, fused.Reshape(-1, 3 * hd), 1, hd, hd, hd);    // (B·T·H, hd) each
        var shape = x.Shape;
        return (parts[0].Reshape(shape), parts[1].Reshape(shape), parts[2].Reshape(shape));
    }

    protected override (Tensor Keys, Tensor Values) KeyValues(Tape tape, int layer, Tensor x, LayerContext context)
    {
        var (_, k, v) = QueriesKeysValues(tape, layer, x, context);
        return (k, v);
    }

    // x (B, T, H·hd): each head's first rotary dims turned (rotate_half pairing, frequencies over those dims), the rest
    // kept.
    private Tensor RotatePart(Tape tape, Tensor x, int[] positions)
    {
        int heads = Config.NumHeads, hd = Config.HeadDim;
        if (_rotaryDims == hd) return Fn.Rope(tape, x, heads, positions, RopeStyle.RotateHalf, Config.RopeTheta);
        var shape = x.Shape;
        var parts = Fn.Split(tape, x.Reshape(-1, hd), 1, _rotaryDims, hd - _rotaryDims); // (B·T·H, r), (B·T·H, hd − r)
        var turned = Fn.Rope(tape, parts[0].Reshape(-1, heads * _rotaryDims), heads, positions, RopeStyle.RotateHalf,
            Config.RopeTheta);
        return Fn.Concat(tape, 1, turned.Reshape(-1, _rotaryDims), parts[1]).Reshape(shape);
    }

    private Tensor Activation(Tape tape, Tensor x) => _exactGelu ? Fn.GeluErf(tape, x) : Fn.Gelu(tape, x);

    protected override Tensor FinalNorm(Tape tape, Tensor h) => Fn.LayerNorm(tape, h, _finalGain, _finalBias,
        Config.NormEps);

    protected override bool IsNormGain(string name) => name.EndsWith("layernorm.weight")
        || name.EndsWith("final_layer_norm.weight");
    protected override bool IsResidualProjection(string name) => name.EndsWith("attention.dense.weight")
        || name.EndsWith("dense_4h_to_h.weight");
}
