using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Models;

/// <summary>
/// Gemma 3's text model (Gemma Team 2025): token embeddings scaled by √D; RMSNorms whose gain is (1 + w), both before
/// and after each sublayer (h + post(attn(pre(h)))); per-head q/k norms; queries scaled by query_pre_attn_scalar^−½;
/// a GeGLU MLP with the tanh GELU; head_dim apart from D / heads; local (sliding-window) layers interleaved with global
/// ones, each kind with its own rotary base. Within sliding_window positions a local layer attends to all earlier
/// positions, so contexts are capped there (<see cref="ModelConfig.MaxPositions"/>) and every layer attends fully.
/// The LM head is the (unscaled) embedding table.
/// </summary>
public sealed class Gemma3 : CausalLanguageModel
{
    private sealed record BlockWeights(
        Tensor InputNorm, Tensor PostAttentionNorm, Tensor PreMlpNorm, Tensor PostMlpNorm, // (D) each, gain 1 + w
        Tensor Wq, Tensor Wk, Tensor Wv, Tensor Wo,                      // (H·d, D), (KV·d, D) ×2, (D, H·d)
        Tensor QNorm, Tensor KNorm,                                      // (d) each, gain 1 + w
        Tensor Gate, Tensor Up, Tensor Down);                            // (F, D), (F, D), (D, F)

    private readonly Tensor _embed, _norm;
    private readonly BlockWeights[] _blocks;

    public Gemma3(ModelConfig config) : base(config)
    {
        if (config.Architecture != Architecture.Gemma3)
            throw new ArgumentException($"A {config.Architecture} config is not a Gemma 3 config.");
        int d = config.HiddenSize, f = config.IntermediateSize, hd = config.HeadDim;
        _embed = Add("model.embed_tokens.weight", ParameterRole.TokenEmbedding, null, config.VocabSize, d);
        _blocks = new BlockWeights[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = $"model.layers.{i}.";
            _blocks[i] = new BlockWeights(
                Add(p + "input_layernorm.weight", ParameterRole.Norm, i, d), Add(p + "post_attention_layernorm.weight",
                    ParameterRole.Norm, i, d),
                Add(p + "pre_feedforward_layernorm.weight", ParameterRole.Norm, i, d),
                Add(p + "post_feedforward_layernorm.weight", ParameterRole.Norm, i, d),
                Add(p + "self_attn.q_proj.weight", ParameterRole.Query, i, config.QueryWidth, d),
                Add(p + "self_attn.k_proj.weight", ParameterRole.Key, i, config.KvWidth, d),
                Add(p + "self_attn.v_proj.weight", ParameterRole.Value, i, config.KvWidth, d),
                Add(p + "self_attn.o_proj.weight", ParameterRole.AttentionOutput, i, d, config.QueryWidth),
                Add(p + "self_attn.q_norm.weight", ParameterRole.Norm, i, hd), Add(p + "self_attn.k_norm.weight",
                    ParameterRole.Norm, i, hd),
                Add(p + "mlp.gate_proj.weight", ParameterRole.MlpGate, i, f, d), Add(p + "mlp.up_proj.weight",
                    ParameterRole.MlpUp, i, f, d),
                Add(p + "mlp.down_proj.weight", ParameterRole.MlpDown, i, d, f));
        }
        _norm = Add("model.norm.weight", ParameterRole.FinalNorm, null, d);
    }

    public override Tensor TokenEmbedding => _embed;
    protected override Tensor LmHead => _embed;

    // The √D scale is part of the embedding layer, so soft prompts (rows of the same table's scale) are scaled with the
    // text. Hugging Face's Gemma 3 scales inside its embedding module (Gemma3TextScaledWordEmbedding), after which PEFT
    // concatenates the prompt unscaled: a PEFT-written Gemma 3 prompt is √D times ours, and the files say so.
    public override float PeftPromptScale => EmbeddingScale;

    private float EmbeddingScale => MathF.Sqrt(Config.HiddenSize);

    protected override Tensor EmbeddingLayer(Tape tape, Tensor tokenEmbeddings, int[] positions, ForwardInput input)
        => Fn.Scale(tape, tokenEmbeddings, EmbeddingScale);

    protected override Tensor Block(Tape tape, int layer, Tensor h, LayerContext context)
    {
        var w = _blocks[layer];
        bool local = Config.LayerKinds is { } kinds && kinds[layer] == 'S';
        float theta = local ? Config.LocalRopeTheta ?? Config.RopeTheta : Config.RopeTheta;
        var scaling = local ? null : Config.RopeScaling;

        // h = h + post(attn(pre(h)))
        var a = Norm(tape, h, w.InputNorm);
        var q = HeadNorm(tape, Project(tape, context, layer, a, w.Wq), w.QNorm);
        q = Fn.Rope(tape, q, Config.NumHeads, context.Positions, RopeStyle.RotateHalf, theta, scaling);
        var (k, v) = KeyValues(tape, layer, a, context);
        k = Fn.Rope(tape, k, Config.KvHeads, context.Positions, RopeStyle.RotateHalf, theta, scaling);
        var attended = Norm(tape, Project(tape, context, layer, Attend(tape, layer, q, k, v, context), w.Wo),
            w.PostAttentionNorm);
        h = Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.Attention, attended));

        // h = h + post(down(gelu_tanh(gate(x)) ⊙ up(x))), x = pre(h)
        var m = Norm(tape, h, w.PreMlpNorm);
        m = Fn.Mul(tape, Fn.Gelu(tape, Project(tape, context, layer, m, w.Gate)), Project(tape, context, layer, m,
            w.Up));
        m = Norm(tape, Project(tape, context, layer, m, w.Down), w.PostMlpNorm);
        return Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.FeedForward, m));
    }

    protected override (Tensor Keys, Tensor Values) KeyValues(Tape tape, int layer, Tensor x, LayerContext context)
    {
        var w = _blocks[layer];
        return (HeadNorm(tape, Project(tape, context, layer, x, w.Wk), w.KNorm), Project(tape, context, layer, x,
            w.Wv));
    }

    protected override Tensor FinalNorm(Tape tape, Tensor h) => Norm(tape, h, _norm);

    // Gemma's RMSNorm: x / rms(x) · (1 + w), so a zero weight is the identity gain.
    private Tensor Norm(Tape tape, Tensor x, Tensor weight) => Fn.RmsNorm(tape, x,
        Fn.Add(tape, weight, ConstantTensors.Filled(1f, weight.Shape)), Config.NormEps);

    private Tensor HeadNorm(Tape tape, Tensor x, Tensor weight) => Norm(tape, x.Reshape(-1, Config.HeadDim), weight)
        .Reshape(x.Shape);

    // The stored norm weights are offsets from a gain of 1, so random init leaves them near 0 rather than at 1.
    protected override bool IsNormGain(string name) => false;
    protected override bool IsResidualProjection(string name) => name.EndsWith("o_proj.weight")
        || name.EndsWith("down_proj.weight");
}
