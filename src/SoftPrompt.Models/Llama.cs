using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Models;

/// <summary>
/// LLaMA (Touvron et al. 2023): RMSNorm before attention and MLP, rotary positions on queries and keys,
/// grouped-query attention, SwiGLU MLP, no biases; the LM head optionally tied to the token embedding.
/// Qwen2/2.5 is this block with biases on the q/k/v projections; Qwen3 is it with an RMSNorm over each query and key
/// head before the rotation, and a head width that need not be hidden_size / heads; Phi-3 is it with q/k/v in one
/// matrix and gate/up in another (<see cref="ModelConfig"/> flags).
/// </summary>
public sealed class Llama : CausalLanguageModel
{
    private sealed record BlockWeights(
        Tensor AttnNorm,                     // (D)
        Tensor Wq, Tensor Wk, Tensor Wv,     // (H·d, D), (KV·d, D), (KV·d, D); Phi-3: Wq is the fused (H·d + 2·KV·d, D)
        Tensor Wo,                           // (D, H·d)
        Tensor? Bq, Tensor? Bk, Tensor? Bv,  // Qwen2: (H·d), (KV·d), (KV·d)
        Tensor? QNorm, Tensor? KNorm,        // Qwen3: (d) each, shared by the heads
        Tensor MlpNorm,                      // (D)
        Tensor Gate, Tensor? Up, Tensor Down); // (F, D), (F, D), (D, F); Phi-3: Gate is the fused (2F, D), Up null

    private readonly Tensor _embed, _norm, _lmHead;
    private readonly BlockWeights[] _blocks;
    private readonly RopeStyle _rope;

    public Llama(ModelConfig config) : base(config)
    {
        int d = config.HiddenSize, f = config.IntermediateSize, kv = config.KvWidth, qw = config.QueryWidth,
            hd = config.HeadDim;
        _embed = Add("model.embed_tokens.weight", ParameterRole.TokenEmbedding, null, config.VocabSize, d);
        _blocks = new BlockWeights[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = $"model.layers.{i}.";
            bool fused = config.FusedProjections;
            // registered first: the order files and checkpoints list
            var attnNorm = Add(p + "input_layernorm.weight", ParameterRole.Norm, i, d);
            var wq = fused ? Add(p + "self_attn.qkv_proj.weight", Qkv, i, qw + 2 * kv, d)
                : Add(p + "self_attn.q_proj.weight", ParameterRole.Query, i, qw, d);
            var wk = fused ? wq : Add(p + "self_attn.k_proj.weight", ParameterRole.Key, i, kv, d);
            var wv = fused ? wq : Add(p + "self_attn.v_proj.weight", ParameterRole.Value, i, kv, d);
            var wo = Add(p + "self_attn.o_proj.weight", ParameterRole.AttentionOutput, i, d, qw);
            bool bias = config.QkvBias, norm = config.QkNorm;
            _blocks[i] = new BlockWeights(
                attnNorm, wq, wk, wv, wo,
                bias ? Add(p + "self_attn.q_proj.bias", ParameterRole.Query | ParameterRole.Bias, i, qw) : null,
                bias ? Add(p + "self_attn.k_proj.bias", ParameterRole.Key | ParameterRole.Bias, i, kv) : null,
                bias ? Add(p + "self_attn.v_proj.bias", ParameterRole.Value | ParameterRole.Bias, i, kv) : null,
                norm ? Add(p + "self_attn.q_norm.weight", ParameterRole.Norm, i, hd) : null,
                norm ? Add(p + "self_attn.k_norm.weight", ParameterRole.Norm, i, hd) : null,
                Add(p + "post_attention_layernorm.weight", ParameterRole.Norm, i, d),
                fused ? Add(p + "mlp.gate_up_proj.weight", ParameterRole.MlpGate | ParameterRole.MlpUp, i, 2 * f, d)
                    : Add(p + "mlp.gate_proj.weight", ParameterRole.MlpGate, i, f, d),
                fused ? null : Add(p + "mlp.up_proj.weight", ParameterRole.MlpUp, i, f, d),
                Add(p + "mlp.down_proj.weight", ParameterRole.MlpDown, i, d, f));
        }
        _norm = Add("model.norm.weight", ParameterRole.FinalNorm, null, d);
        _lmHead = config.TieWordEmbeddings ? _embed : Add("lm_head.weight", ParameterRole.LanguageModelHead, null,
            config.VocabSize, d);
        _rope = config.RotaryPairing == RotaryPairing.Interleaved ? RopeStyle.Interleaved : RopeStyle.RotateHalf;
    }

    public override Tensor TokenEmbedding => _embed;
    protected override Tensor LmHead => _lmHead;

    protected override Tensor Block(Tape tape, int layer, Tensor h, LayerContext context)
    {
        var w = _blocks[layer];
        float eps = Config.NormEps;

        // h = h + attn(rmsnorm(h)), queries and keys rotated by their positions
        var a = Fn.RmsNorm(tape, h, w.AttnNorm, eps);
        var (q, k, v) = QueriesKeysValues(tape, layer, a, context);
        q = Fn.Rope(tape, q, Config.NumHeads, context.Positions, _rope, Config.RopeTheta, Config.RopeScaling);
        k = Fn.Rope(tape, k, Config.KvHeads, context.Positions, _rope, Config.RopeTheta, Config.RopeScaling);
        var attended = Project(tape, context, layer, Attend(tape, layer, q, k, v, context), w.Wo);
        h = Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.Attention, attended));

        // h = h + down(silu(gate(x)) * up(x)), x = rmsnorm(h)
        var m = Fn.RmsNorm(tape, h, w.MlpNorm, eps);
        if (w.Up is null)
        {
            var gateUp = Fn.Split(tape, Project(tape, context, layer, m, w.Gate), -1, Config.IntermediateSize,
                Config.IntermediateSize);
            m = Fn.SwiGlu(tape, gateUp[0], gateUp[1]);
        }
        else m = Fn.SwiGlu(tape, Project(tape, context, layer, m, w.Gate), Project(tape, context, layer, m, w.Up));
        return Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.FeedForward, Project(tape, context, layer,
            m, w.Down)));
    }

    /// <summary>Queries, keys and values of x (…, D), normed where the family norms them, before the
    /// rotation.</summary>
    private (Tensor Q, Tensor K, Tensor V) QueriesKeysValues(Tape tape, int layer, Tensor x, LayerContext context)
    {
        var w = _blocks[layer];
        if (Config.FusedProjections)
        {
            var qkv = Fn.Split(tape, Project(tape, context, layer, x, w.Wq), -1, Config.QueryWidth, Config.KvWidth,
                Config.KvWidth);
            return (qkv[0], qkv[1], qkv[2]);
        }
        var (k, v) = KeyValues(tape, layer, x, context);
        return (HeadNorm(tape, Project(tape, context, layer, x, w.Wq, w.Bq), w.QNorm), k, v);
    }

    protected override (Tensor Keys, Tensor Values) KeyValues(Tape tape, int layer, Tensor x, LayerContext context)
    {
        var w = _blocks[layer];
        if (Config.FusedProjections)
        {
            var (_, k, v) = QueriesKeysValues(tape, layer, x, context);
            return (k, v);
        }
        return (HeadNorm(tape, Project(tape, context, layer, x, w.Wk, w.Bk), w.KNorm), Project(tape, context, layer, x,
            w.Wv, w.Bv));
    }

    // Qwen3: x (…, heads·d) normalised head by head with one gain (d); other families have no gain and pass x through.
    private Tensor HeadNorm(Tape tape, Tensor x, Tensor? gain) =>
        gain is null ? x : Fn.RmsNorm(tape, x.Reshape(-1, Config.HeadDim), gain, Config.NormEps).Reshape(x.Shape);

    protected override Tensor FinalNorm(Tape tape, Tensor h) => Fn.RmsNorm(tape, h, _norm, Config.NormEps);

    protected override bool IsNormGain(string name) => name.EndsWith("norm.weight");
    protected override bool IsResidualProjection(string name) => name.EndsWith("o_proj.weight")
        || name.EndsWith("down_proj.weight");
}
