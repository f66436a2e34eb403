using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models;

/// <summary>
/// BERT (Devlin et al. 2019), as Hugging Face's BertForMaskedLM: token + learned position + token-type embeddings and
/// a LayerNorm; post-LayerNorm blocks (the residual sum is normalised, not the sublayer input) with bidirectional
/// attention and a GELU MLP; the MLM head dense → GELU → LayerNorm → decoder tied to the token embedding, with its own
/// bias. <see cref="TransformerModel.Hidden"/> is the last block's output (HF's sequence_output), what a [CLS] head
/// or the MLM head reads. Names are HF's, weights [out, in] as nn.Linear stores them.
/// </summary>
public sealed class Bert : TransformerModel
{
    private sealed record BlockWeights(
        Tensor Query, Tensor QueryBias, Tensor Key, Tensor KeyBias, Tensor Value, Tensor ValueBias, // (D, D), (D)
        Tensor AttnOut, Tensor AttnOutBias,           // (D, D), (D)
        Tensor AttnNormGain, Tensor AttnNormBias,     // (D)
        Tensor Intermediate, Tensor IntermediateBias, // (F, D), (F)
        Tensor Output, Tensor OutputBias,             // (D, F), (D)
        Tensor OutputNormGain, Tensor OutputNormBias); // (D)

    private readonly Tensor _wordEmbeddings, _positionEmbeddings, _tokenTypeEmbeddings, _embeddingNormGain,
        _embeddingNormBias;
    private readonly BlockWeights[] _blocks;
    private readonly Tensor _transform, _transformBias, _transformNormGain, _transformNormBias, _decoder, _decoderBias;
    private readonly bool _exactGelu;

    public Bert(ModelConfig config) : base(config)
    {
        if (config.Architecture != Architecture.Bert)
            throw new ArgumentException($"A {config.Architecture} config is not a BERT config.");
        int d = config.HiddenSize, f = config.IntermediateSize;
        _wordEmbeddings = Add("bert.embeddings.word_embeddings.weight", ParameterRole.TokenEmbedding, null,
            config.VocabSize, d);
        _positionEmbeddings = Add("bert.embeddings.position_embeddings.weight", ParameterRole.OtherEmbedding, null,
            config.MaxPositions, d);
        _tokenTypeEmbeddings = Add("bert.embeddings.token_type_embeddings.weight", ParameterRole.OtherEmbedding, null,
            config.TypeVocabSize, d);
        _embeddingNormGain = Add("bert.embeddings.LayerNorm.weight", ParameterRole.Norm, null, d);
        _embeddingNormBias = Add("bert.embeddings.LayerNorm.bias", ParameterRole.Norm | ParameterRole.Bias, null, d);
        _blocks = new BlockWeights[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = $"bert.encoder.layer.{i}.";
            _blocks[i] = new BlockWeights(
                Add(p + "attention.self.query.weight", ParameterRole.Query, i, d, d),
                Add(p + "attention.self.query.bias", ParameterRole.Query | ParameterRole.Bias, i, d),
                Add(p + "attention.self.key.weight", ParameterRole.Key, i, d, d), Add(p + "attention.self.key.bias",
                    ParameterRole.Key | ParameterRole.Bias, i, d),
                Add(p + "attention.self.value.weight", ParameterRole.Value, i, d, d),
                Add(p + "attention.self.value.bias", ParameterRole.Value | ParameterRole.Bias, i, d),
                Add(p + "attention.output.dense.weight", ParameterRole.AttentionOutput, i, d, d),
                Add(p + "attention.output.dense.bias", ParameterRole.AttentionOutput | ParameterRole.Bias, i, d),
                Add(p + "attention.output.LayerNorm.weight", ParameterRole.Norm, i, d),
                Add(p + "attention.output.LayerNorm.bias", ParameterRole.Norm | ParameterRole.Bias, i, d),
                Add(p + "intermediate.dense.weight", ParameterRole.MlpUp, i, f, d), Add(p + "intermediate.dense.bias",
                    ParameterRole.MlpUp | ParameterRole.Bias, i, f),
                Add(p + "output.dense.weight", ParameterRole.MlpDown, i, d, f), Add(p + "output.dense.bias",
                    ParameterRole.MlpDown | ParameterRole.Bias, i, d),
                Add(p + "output.LayerNorm.weight", ParameterRole.Norm, i, d), Add(p + "output.LayerNorm.bias",
                    ParameterRole.Norm | ParameterRole.Bias, i, d));
        }
        _transform = Add("cls.predictions.transform.dense.weight", ParameterRole.HeadTransform, null, d, d);
        _transformBias = Add("cls.predictions.transform.dense.bias", ParameterRole.HeadTransform | ParameterRole.Bias,
            null, d);
        _transformNormGain = Add("cls.predictions.transform.LayerNorm.weight", ParameterRole.HeadTransform, null, d);
        _transformNormBias = Add("cls.predictions.transform.LayerNorm.bias",
            ParameterRole.HeadTransform | ParameterRole.Bias, null, d);
        _decoder = config.TieWordEmbeddings ? _wordEmbeddings : Add(DecoderWeightName, ParameterRole.LanguageModelHead,
            null, config.VocabSize, d);
        _decoderBias = Add("cls.predictions.bias", ParameterRole.HeadTransform | ParameterRole.Bias, null,
            config.VocabSize);
        _exactGelu = (config.HiddenAct ?? "gelu") == "gelu";
    }

    /// <summary>The decoder's own weight, which a tied checkpoint leaves out.</summary>
    public const string DecoderWeightName = "cls.predictions.decoder.weight";

    public override bool IsCausal => false;
    public override Tensor TokenEmbedding => _wordEmbeddings;
    protected override Tensor LmHead => _decoder;
    protected override bool UsesLearnedPositions => true;

    // LayerNorm(word + position + token type); token types default to segment 0.
    protected override Tensor EmbeddingLayer(Tape tape, Tensor tokenEmbeddings, int[] positions, ForwardInput input)
    {
        int b = input.Batch, t = input.Length;
        var h = Fn.Add(tape, tokenEmbeddings, Fn.Embedding(tape, _positionEmbeddings, positions, b, t));
        h = Fn.Add(tape, h, Fn.Embedding(tape, _tokenTypeEmbeddings, input.TokenTypes ?? new int[b * t], b, t));
        return Fn.LayerNorm(tape, h, _embeddingNormGain, _embeddingNormBias, Config.NormEps);
    }

    protected override Tensor Block(Tape tape, int layer, Tensor h, LayerContext context)
    {
        var w = _blocks[layer];
        float eps = Config.NormEps;

        // h = LayerNorm(h + attn(h)), every position attending to every unpadded one
        var q = Project(tape, context, layer, h, w.Query, w.QueryBias);
        var (k, v) = KeyValues(tape, layer, h, context);
        var attended = Project(tape, context, layer, Attend(tape, layer, q, k, v, context), w.AttnOut, w.AttnOutBias);
        h = Fn.LayerNorm(tape, Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.Attention, attended)),
            w.AttnNormGain, w.AttnNormBias, eps);

        // h = LayerNorm(h + output(gelu(intermediate(h))))
        var m = Activation(tape, Project(tape, context, layer, h, w.Intermediate, w.IntermediateBias));
        m = Project(tape, context, layer, m, w.Output, w.OutputBias);
        return Fn.LayerNorm(tape, Fn.Add(tape, h, SublayerOutput(tape, context, layer, Sublayer.FeedForward, m)),
            w.OutputNormGain, w.OutputNormBias, eps);
    }

    protected override (Tensor Keys, Tensor Values) KeyValues(Tape tape, int layer, Tensor x, LayerContext context)
    {
        var w = _blocks[layer];
        return (Project(tape, context, layer, x, w.Key, w.KeyBias), Project(tape, context, layer, x, w.Value,
            w.ValueBias));
    }

    // Post-LayerNorm blocks end normalised; there is no final norm.
    protected override Tensor FinalNorm(Tape tape, Tensor h) => h;

    /// <summary>MLM logits (…, V): decoder(LayerNorm(gelu(dense(hidden)))) + bias.</summary>
    public override Tensor Logits(Tape tape, Tensor hidden)
    {
        var t = Activation(tape, Fn.Linear(tape, hidden, _transform, _transformBias));
        t = Fn.LayerNorm(tape, t, _transformNormGain, _transformNormBias, Config.NormEps);
        return Fn.Linear(tape, t, _decoder, _decoderBias);
    }

    /// <summary>
    /// Mean cross-entropy at the positions with a target (the masked ones; −100 elsewhere). Only those rows go through
    /// the MLM head: with 15% masking that is a seventh of the vocabulary-sized work.
    /// </summary>
    public override Tensor LanguageModelLoss(Tape tape, Tensor hidden, int[] targets)
    {
        var flat = hidden.Reshape(-1, Config.HiddenSize);
        if (targets.Length != flat.Dim(0))
            throw new ArgumentException($"MLM loss: {targets.Length} targets for {flat.Dim(0)} positions.");
        var scored = Enumerable.Range(0, targets.Length).Where(i => targets[i] != -100).ToArray();
        if (scored.Length == 0) throw new ArgumentException("MLM loss: no position has a target.");
        // Gathering rows is an embedding lookup with the hidden states as the table (backward scatters the gradient
        // back).
        var logits = Logits(tape, Fn.Embedding(tape, flat, scored));
        return Fn.CrossEntropy(tape, logits, scored.Select(i => targets[i]).ToArray());
    }

    private Tensor Activation(Tape tape, Tensor x) => _exactGelu ? Fn.GeluErf(tape, x) : Fn.Gelu(tape, x);

    protected override bool IsNormGain(string name) => name.EndsWith("LayerNorm.weight");

    // BERT initialises every weight with the same N(0, 0.02), residual projections included.
    protected override bool IsResidualProjection(string name) => false;
}
