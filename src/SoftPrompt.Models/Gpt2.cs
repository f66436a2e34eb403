using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models;

/// <summary>
/// GPT-2 (Radford et al. 2019): learned positions, pre-LayerNorm blocks, GELU MLP, LM head tied to the token
/// embedding. The GELU is the tanh form GPT-2 was trained with ("gelu_new") unless config.json asks for HF's exact erf
/// "gelu", which some GPT-2-architecture checkpoints were trained with. Weights in nn.Linear layout [out, in]; the
/// loader transposes Hugging Face's Conv1D [in, out].
/// </summary>
public sealed class Gpt2 : CausalLanguageModel
{
    private sealed record BlockWeights(
        Tensor Ln1Gain, Tensor Ln1Bias,
        Tensor QkvWeight, Tensor QkvBias,         // (3D, D), (3D): q, k, v stacked
        Tensor AttnOutWeight, Tensor AttnOutBias, // (D, D), (D)
        Tensor Ln2Gain, Tensor Ln2Bias,
        Tensor FcWeight, Tensor FcBias,           // (F, D), (F)
        Tensor ProjWeight, Tensor ProjBias);      // (D, F), (D)

    private readonly Tensor _wte, _wpe, _lnFGain, _lnFBias;
    private readonly BlockWeights[] _blocks;
    private readonly bool _exactGelu;

    public Gpt2(ModelConfig config) : base(config)
    {
        int d = config.HiddenSize, f = config.IntermediateSize;
        _wte = Add("transformer.wte.weight", ParameterRole.TokenEmbedding, null, config.VocabSize, d);
        _wpe = Add("transformer.wpe.weight", ParameterRole.OtherEmbedding, null, config.MaxPositions, d);
        _blocks = new BlockWeights[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = $"transformer.h.{i}.";
            _blocks[i] = new BlockWeights(
                Add(p + "ln_1.weight", ParameterRole.Norm, i, d),
                Add(p + "ln_1.bias", ParameterRole.Norm | ParameterRole.Bias, i, d),
                Add(p + "attn.c_attn.weight", Qkv, i, 3 * d, d), Add(p + "attn.c_attn.bias", Qkv | ParameterRole.Bias,
                    i, 3 * d),
                Add(p + "attn.c_proj.weight", ParameterRole.AttentionOutput, i, d, d), Add(p + "attn.c_proj.bias",
                    ParameterRole.AttentionOutput | ParameterRole.Bias, i, d),
                Add(p + "ln_2.weight", ParameterRole.Norm, i, d),
                Add(p + "ln_2.bias", ParameterRole.Norm | ParameterRole.Bias, i, d),
                Add(p + "mlp.c_fc.weight", ParameterRole.MlpUp, i, f, d),
                Add(p + "mlp.c_fc.bias", ParameterRole.MlpUp | ParameterRole.Bias, i, f),
                Add(p + "mlp.c_proj.weight", ParameterRole.MlpDown, i, d, f), Add(p + "mlp.c_proj.bias",
                    ParameterRole.MlpDown | ParameterRole.Bias, i, d));
        }
        _lnFGain = Add("transformer.ln_f.weight", ParameterRole.FinalNorm, null, d);
        _lnFBias = Add("transformer.ln_f.bias", ParameterRole.FinalNorm | ParameterRole.Bias, null, d);
        _exactGelu = config.HiddenAct == "gelu";
    }

    public override Tensor TokenEmbedding => _wte;
    protected override Tensor LmHead => _wte;
    protected override bool UsesLearnedPositions => true;

    protected override Tensor EmbeddingLayer(Tape tape, Tensor tokenEmbeddings, int[] positions, ForwardInput input)
        => Fn.Add(tape, tokenEmbeddings, Fn.Embedding(tape, _wpe, positions, tokenEmbeddings.Dim(0),
            tokenEmbeddings.Dim(1)));

    protected override Tensor Block(Tape tape, int layer, Tensor h, LayerContext context)
    {
        var w = _blocks[layer];
        float eps = Config.NormEps;
        int d = Config.HiddenSize;

        // h = h + attn(ln_1(h))
        var a = Fn.LayerNorm(tape, h, w.Ln1Gain, w.Ln1Bias, eps);
        var qkv = Fn.Split(tape, Project(tape, context, layer, a, w.QkvWeight, w.QkvBias), -1, d, d, d);
        var attended = Attend(tape, layer, qkv[0], qkv[1], qkv[2], context);
        attended = Project(tape, context, layer, attended, w.AttnOutWeight, w.AttnOutBias);
        h = Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.Attention, attended));

        // h = h + mlp(ln_2(h))
        var m = Fn.LayerNorm(tape, h, w.Ln2Gain, w.Ln2Bias, eps);
        m = Activation(tape, Project(tape, context, layer, m, w.FcWeight, w.FcBias));
        return Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.FeedForward, Project(tape, context, layer,
            m, w.ProjWeight, w.ProjBias)));
    }

    /// <summary>Keys and values come out of the fused c_attn; an adapter's few rows pay for the unused
    /// queries.</summary>
    protected override (Tensor Keys, Tensor Values) KeyValues(Tape tape, int layer, Tensor x, LayerContext context)
    {
        int d = Config.HiddenSize;
        var qkv = Fn.Split(tape, Project(tape, context, layer, x, _blocks[layer].QkvWeight, _blocks[layer].QkvBias), -1,
            d, d, d);
        return (qkv[1], qkv[2]);
    }

    private Tensor Activation(Tape tape, Tensor x) => _exactGelu ? Fn.GeluErf(tape, x) : Fn.Gelu(tape, x);

    protected override Tensor FinalNorm(Tape tape, Tensor h) => Fn.LayerNorm(tape, h, _lnFGain, _lnFBias,
        Config.NormEps);

    protected override bool IsNormGain(string name) => name.Contains("ln_") && name.EndsWith(".weight");
    protected override bool IsResidualProjection(string name) => name.EndsWith("c_proj.weight");
}
