using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models;

/// <summary>
/// T5 (Raffel et al. 2020), as Hugging Face's T5ForConditionalGeneration: one token embedding shared by an encoder and
/// a decoder stack; pre-norm blocks with RMS norms (no mean, no bias) and no biases anywhere; attention without the
/// 1/√d scale, positions entering only as a learned per-head bias by relative-position bucket (computed by the first
/// block of each stack, reused by the rest); decoder blocks add cross-attention over the encoder's output; a ReLU MLP
/// (v1.0) or a gated one (v1.1). With a tied head the decoder's output is scaled by d^−½ before the logits.
/// Adapter hooks see layers 0…E−1 as the encoder's blocks and E…E+D−1 as the decoder's; prefix rows join
/// self-attention only (encoder [prefix; x], decoder [prefix′; y], as Li &amp; Liang put them on BART).
/// </summary>
public sealed class T5 : ParameterizedModel
{
    // (D, D) each
    private sealed record AttentionWeights(Tensor Query, Tensor Key, Tensor Value, Tensor Output);
    // (F, D), (F, D)?, (D, F)
    private sealed record FeedForwardWeights(Tensor In, Tensor? Gate, Tensor Out);
    private sealed record BlockWeights(
        Tensor SelfNorm, AttentionWeights Self,          // (D)
        Tensor? CrossNorm, AttentionWeights? Cross,      // decoder only
        Tensor FeedForwardNorm, FeedForwardWeights FeedForward);

    private readonly Tensor _shared, _lmHead, _encoderBias, _decoderBias, _encoderNorm, _decoderNorm;
    private readonly BlockWeights[] _encoder, _decoder;

    public T5(ModelConfig config)
    {
        if (config.Architecture != Architecture.T5)
            throw new ArgumentException($"A {config.Architecture} config is not a T5 config.");
        config.Validate("model config");
        Config = config;
        int d = config.HiddenSize;
        _shared = Add("shared.weight", config.VocabSize, d);
        _encoder = new BlockWeights[config.NumLayers];
        for (int i = 0; i < config.NumLayers; i++)
        {
            string p = $"encoder.block.{i}.layer.";
            _encoder[i] = new BlockWeights(Add(p + "0.layer_norm.weight", d), AddAttention(p + "0.SelfAttention."),
                null, null, Add(p + "1.layer_norm.weight", d), AddFeedForward(p + "1.DenseReluDense."));
        }
        _encoderBias = Add("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            config.RelativeAttentionBuckets, config.NumHeads);
        _encoderNorm = Add("encoder.final_layer_norm.weight", d);
        _decoder = new BlockWeights[config.DecoderLayers];
        for (int i = 0; i < config.DecoderLayers; i++)
        {
            string p = $"decoder.block.{i}.layer.";
            _decoder[i] = new BlockWeights(Add(p + "0.layer_norm.weight", d), AddAttention(p + "0.SelfAttention."),
                Add(p + "1.layer_norm.weight", d), AddAttention(p + "1.EncDecAttention."),
                Add(p + "2.layer_norm.weight", d), AddFeedForward(p + "2.DenseReluDense."));
        }
        _decoderBias = Add("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            config.RelativeAttentionBuckets, config.NumHeads);
        _decoderNorm = Add("decoder.final_layer_norm.weight", d);
        _lmHead = config.TieWordEmbeddings ? _shared : Add("lm_head.weight", config.VocabSize, d);
    }

    private AttentionWeights AddAttention(string p)
    {
        int d = Config.HiddenSize;
        return new AttentionWeights(Add(p + "q.weight", d, d), Add(p + "k.weight", d, d), Add(p + "v.weight", d, d),
            Add(p + "o.weight", d, d));
    }

    private FeedForwardWeights AddFeedForward(string p)
    {
        int d = Config.HiddenSize, f = Config.IntermediateSize;
        return Config.GatedFeedForward
            ? new FeedForwardWeights(Add(p + "wi_0.weight", f, d), Add(p + "wi_1.weight", f, d),
                Add(p + "wo.weight", d, f))
            : new FeedForwardWeights(Add(p + "wi.weight", f, d), null, Add(p + "wo.weight", d, f));
    }

    public ModelConfig Config { get; }

    /// <summary>The embedding both stacks read, (V, D).</summary>
    public Tensor TokenEmbedding => _shared;

    /// <summary>Blocks the adapter hooks number: the encoder's, then the decoder's.</summary>
    public int HookedLayers => Config.NumLayers + Config.DecoderLayers;

    /// <summary>The shape adapters that work per layer (prefix tuning, deep prompts) are made for: one stack of
    /// <see cref="HookedLayers"/> blocks of this width and these heads.</summary>
    public ModelConfig AdapterConfig => Config with { NumLayers = HookedLayers };

    /// <summary>The id the decoder input starts with (T5: the pad id).</summary>
    public int DecoderStartId => Config.DecoderStartTokenId ?? Config.PadTokenId ?? 0;

    /// <summary>
    /// The encoder's final-norm output (B, S, D) for token ids or ready embeddings (a soft prompt in front).
    /// input.Padding marks padded positions, which no query attends to; relative positions count from each row's start.
    /// </summary>
    public Tensor Encode(Tape tape, ForwardInput input)
    {
        input.Validate(Config);
        if (input.Cache is not null || input.Positions is not null)
            throw new ArgumentException(
                "T5 encoder: relative positions come from the row; no cache or positions are taken.");
        var h = input.Embeddings ?? Fn.Embedding(tape, _shared, input.TokenIds!, input.Batch, input.Length);
        var biases = new PositionBiases(tape, _encoderBias, input.Length, input.Length, bidirectional: true,
            Config.RelativeAttentionMaxDistance);
        for (int layer = 0; layer < _encoder.Length; layer++)
        {
            int madeBefore = tape.OwnedCount;
            if (input.Hooks is not null) h = input.Hooks.LayerInput(tape, layer, h);
            var w = _encoder[layer];
            var a = Fn.RmsNorm(tape, h, w.SelfNorm, Config.NormEps);
            h = Fn.Add(tape, h, SelfAttention(tape, layer, a, w.Self, input, biases, causal: false));
            h = Fn.Add(tape, h, FeedForward(tape, layer, h, w, input.Hooks));
            if (!tape.IsRecording && input.Hooks is null) tape.ReturnMadeSince(madeBefore, keep: h);
        }
        return Fn.RmsNorm(tape, h, _encoderNorm, Config.NormEps);
    }

    /// <summary>
    /// The decoder's final-norm output (B, T, D) for decoder input ids (the targets shifted right behind
    /// <see cref="DecoderStartId"/>; see <see cref="ShiftRight"/>), attending causally to itself and fully to the
    /// unpadded rows of <paramref name="encoded"/> (B, S, D). Right-padded decoder rows need no mask: the causal one
    /// keeps real positions from seeing the padding after them.
    /// </summary>
    public Tensor Decode(Tape tape, ForwardInput input, Tensor encoded, bool[]? encoderPadding)
    {
        input.Validate(Config);
        if (input.Cache is not null || input.Positions is not null)
            throw new ArgumentException(
                "T5 decoder: this pass recomputes every position; no cache or positions are taken.");
        if (encoded.Rank != 3 || encoded.Dim(0) != input.Batch || encoded.Dim(2) != Config.HiddenSize)
            throw new ArgumentException(
                $"T5 decoder: encoder output has shape [{string.Join(", ", encoded.Shape)}], expected " +
                $"[{input.Batch}, S, {Config.HiddenSize}].");
        if (encoderPadding is not null && encoderPadding.Length != input.Batch * encoded.Dim(1))
            throw new ArgumentException(
                $"T5 decoder: {encoderPadding.Length} encoder padding flags for {input.Batch}×{encoded.Dim(1)} " +
                $"encoder positions.");
        var h = input.Embeddings ?? Fn.Embedding(tape, _shared, input.TokenIds!, input.Batch, input.Length);
        var biases = new PositionBiases(tape, _decoderBias, input.Length, input.Length, bidirectional: false,
            Config.RelativeAttentionMaxDistance);
        for (int i = 0; i < _decoder.Length; i++)
        {
            int layer = Config.NumLayers + i, madeBefore = tape.OwnedCount;
            if (input.Hooks is not null) h = input.Hooks.LayerInput(tape, layer, h);
            var w = _decoder[i];
            var a = Fn.RmsNorm(tape, h, w.SelfNorm, Config.NormEps);
            h = Fn.Add(tape, h, SelfAttention(tape, layer, a, w.Self, input, biases, causal: true));

            // cross-attention: queries from the decoder, keys and values from the encoder's output, no position bias
            var c = Fn.RmsNorm(tape, h, w.CrossNorm!, Config.NormEps);
            var q = Project(tape, input.Hooks, layer, c, w.Cross!.Query);
            var k = Project(tape, input.Hooks, layer, encoded, w.Cross.Key);
            var v = Project(tape, input.Hooks, layer, encoded, w.Cross.Value);
            var attended = Fn.Attention(tape, q, k, v, Config.NumHeads, Config.NumHeads, causal: false, encoderPadding,
                scoreScale: 1f);
            h = Fn.Add(tape, h, Project(tape, input.Hooks, layer, attended, w.Cross.Output));

            h = Fn.Add(tape, h, FeedForward(tape, layer, h, w, input.Hooks));
            if (!tape.IsRecording && input.Hooks is null) tape.ReturnMadeSince(madeBefore, keep: h);
        }
        return Fn.RmsNorm(tape, h, _decoderNorm, Config.NormEps);
    }

    /// <summary>One generation's decoder state: per layer, the self-attention keys and values of the positions written
    /// so far (B, n, D) and the cross-attention keys and values of the encoder output (made at the first step). Its
    /// tensors are the state's own, not the tape's, so a tape handing its memory back between steps leaves
    /// them.</summary>
    public sealed class DecoderState
    {
        internal readonly Tensor?[] Keys, Values, CrossKeys, CrossValues;
        /// <summary>Positions decoded so far.</summary>
        public int Length { get; internal set; }

        internal DecoderState(int layers) => (Keys, Values, CrossKeys, CrossValues) = (new Tensor?[layers],
            new Tensor?[layers], new Tensor?[layers], new Tensor?[layers]);
    }

    public DecoderState StartDecoding() => new(_decoder.Length);

    /// <summary>
    /// The decoder's final-norm output (B, 1, D) at the next position of every row — <paramref name="tokens"/> (one per
    /// row) at position <c>state.Length</c> — attending to the positions before it through the state's keys and values:
    /// what <see cref="Decode"/> gives at the last position of the whole sequence, for one position's work instead of
    /// all of them. No hooks: an adapter's hooks see whole sequences, so generation through them uses
    /// <see cref="Decode"/>.
    /// </summary>
    public Tensor DecodeNext(Tape tape, int[] tokens, Tensor encoded, bool[]? encoderPadding, DecoderState state)
    {
        int batch = tokens.Length, position = state.Length;
        if (encoded.Rank != 3 || encoded.Dim(0) != batch || encoded.Dim(2) != Config.HiddenSize)
            throw new ArgumentException(
                $"T5 decoder: encoder output has shape [{string.Join(", ", encoded.Shape)}], expected [{batch}, S, " +
                $"{Config.HiddenSize}].");
        var h = Fn.Embedding(tape, _shared, tokens, batch, 1);
        // the one query row of the full causal bias: keys 0..position, seen from position
        var bias = Fn.RelativePositionBias(tape, _decoderBias, 1, position + 1, position, bidirectional: false,
            Config.RelativeAttentionMaxDistance);
        for (int i = 0; i < _decoder.Length; i++)
        {
            var w = _decoder[i];
            var a = Fn.RmsNorm(tape, h, w.SelfNorm, Config.NormEps);
            var q = Fn.Linear(tape, a, w.Self.Query);
            state.Keys[i] = Appended(state.Keys[i], Fn.Linear(tape, a, w.Self.Key));
            state.Values[i] = Appended(state.Values[i], Fn.Linear(tape, a, w.Self.Value));
            var attended = Fn.Attention(tape, q, state.Keys[i]!, state.Values[i]!, Config.NumHeads, Config.NumHeads,
                causal: false, null, bias, scoreScale: 1f);
            h = Fn.Add(tape, h, Fn.Linear(tape, attended, w.Self.Output));

            var c = Fn.RmsNorm(tape, h, w.CrossNorm!, Config.NormEps);
            state.CrossKeys[i] ??= Owned(Fn.Linear(tape, encoded, w.Cross!.Key));
            state.CrossValues[i] ??= Owned(Fn.Linear(tape, encoded, w.Cross!.Value));
            var crossed = Fn.Attention(tape, Fn.Linear(tape, c, w.Cross!.Query), state.CrossKeys[i]!,
                state.CrossValues[i]!, Config.NumHeads, Config.NumHeads,
                causal: false, encoderPadding, scoreScale: 1f);
            h = Fn.Add(tape, h, Fn.Linear(tape, crossed, w.Cross.Output));
            h = Fn.Add(tape, h, FeedForward(tape, Config.NumLayers + i, h, w, hooks: null));
        }
        state.Length = position + 1;
        return Fn.RmsNorm(tape, h, _decoderNorm, Config.NormEps);
    }

    // (B, n, D) + (B, 1, D) → (B, n + 1, D), a tensor of the state's own
    private static Tensor Appended(Tensor? cached, Tensor next)
    {
        int batch = next.Dim(0), d = next.Dim(2), n = cached?.Dim(1) ?? 0;
        var data = new float[batch * (n + 1) * d];
        for (int b = 0; b < batch; b++)
        {
            if (cached is not null) cached.ReadOnlySpan.Slice(b * n * d, n * d).CopyTo(data.AsSpan(b * (n + 1) * d));
            next.ReadOnlySpan.Slice(b * d, d).CopyTo(data.AsSpan((b * (n + 1) + n) * d));
        }
        return Tensor.FromArray(data, new[] { batch, n + 1, d });
    }

    private static Tensor Owned(Tensor made) => Tensor.FromArray(made.ToArray(), made.Shape.ToArray());

    // x + attn(x) without the residual: T5's self-attention over [extra rows; x], scores unscaled plus the stack's
    // relative-position bias (zero for the extra rows, which have no position).
    private Tensor SelfAttention(Tape tape, int layer, Tensor x, AttentionWeights w, ForwardInput input,
        PositionBiases biases, bool causal)
    {
        var hooks = input.Hooks;
        var q = Project(tape, hooks, layer, x, w.Query);
        var k = Project(tape, hooks, layer, x, w.Key);
        var v = Project(tape, hooks, layer, x, w.Value);
        bool[]? padding = input.Padding;
        int extraRows = 0;
        if (hooks?.ExtraKeyValues(tape, layer, input.Batch) is { } extra)
        {
            extraRows = TransformerModel.CheckExtraRows(extra, layer, input.Batch, Config.KvWidth);
            k = Fn.Concat(tape, 1, extra.Keys, k);
            v = Fn.Concat(tape, 1, extra.Values, v);
            padding = TransformerModel.PrependPadding(extra.Padding, extraRows, padding, input.Length, input.Batch);
        }
        var attended = Fn.Attention(tape, q, k, v, Config.NumHeads, Config.NumHeads, causal, padding,
            biases.For(extraRows), scoreScale: 1f);
        var output = Project(tape, hooks, layer, attended, w.Output);
        return hooks?.SublayerOutput(tape, layer, Sublayer.Attention, output) ?? output;
    }

    // wo(act(wi·x)) or wo(act(wi_0·x) ⊙ wi_1·x), x = rmsnorm(h)
    private Tensor FeedForward(Tape tape, int layer, Tensor h, BlockWeights w, ILayerHooks? hooks)
    {
        var x = Fn.RmsNorm(tape, h, w.FeedForwardNorm, Config.NormEps);
        var ff = w.FeedForward;
        var m = Activation(tape, Project(tape, hooks, layer, x, ff.In));
        if (ff.Gate is not null) m = Fn.Mul(tape, m, Project(tape, hooks, layer, x, ff.Gate));
        var output = Project(tape, hooks, layer, m, ff.Out);
        return hooks?.SublayerOutput(tape, layer, Sublayer.FeedForward, output) ?? output;
    }

    private Tensor Activation(Tape tape, Tensor x) => (Config.HiddenAct ?? "relu") switch
    {
        "relu" => Fn.Relu(tape, x),
        "gelu" => Fn.GeluErf(tape, x),
        "gelu_new" => Fn.Gelu(tape, x),
        "silu" => Fn.Silu(tape, x),
        var other => throw new NotSupportedException($"T5 activation '{other}' is not implemented."),
    };

    private static Tensor Project(Tape tape, ILayerHooks? hooks, int layer, Tensor x, Tensor weight)
    {
        var y = Fn.Linear(tape, x, weight);
        return hooks?.Projection(tape, layer, weight, x, y) ?? y;
    }

    /// <summary>Logits (…, V) of decoder outputs; a tied head reads them scaled by d^−½ (Mesh TensorFlow's
    /// convention).</summary>
    public Tensor Logits(Tape tape, Tensor decoded) => Fn.Linear(tape, HeadInput(tape, decoded), _lmHead);

    /// <summary>Mean cross-entropy of decoder outputs (…, D) against one target per position (−100 to skip), through
    /// the head without materialising the logits.</summary>
    public Tensor Loss(Tape tape, Tensor decoded, int[] targets) =>
        Fn.LinearCrossEntropy(tape, HeadInput(tape, decoded).Reshape(-1, Config.HiddenSize), _lmHead, targets);

    private Tensor HeadInput(Tape tape, Tensor decoded) =>
        Config.TieWordEmbeddings ? Fn.Scale(tape, decoded, 1f / MathF.Sqrt(Config.HiddenSize)) : decoded;

    /// <summary>
    /// Decoder inputs for targets (B·T, −100 where there is none): each row shifted one right behind the start id,
    /// −100 read as the pad id, as transformers' _shift_right does.
    /// </summary>
    public int[] ShiftRight(int[] targets, int batch, int length)
    {
        if (targets.Length != batch * length)
            throw new ArgumentException($"ShiftRight: {targets.Length} targets for {batch}×{length}.");
        int pad = Config.PadTokenId ?? 0;
        var inputs = new int[targets.Length];
        for (int r = 0; r < batch; r++)
        {
            inputs[r * length] = DecoderStartId;
            for (int t = 1; t < length; t++)
            {
                int previous = targets[r * length + t - 1];
                inputs[r * length + t] = previous == -100 ? pad : previous;
            }
        }
        return inputs;
    }

    /// <summary>
    /// The initialisation of transformers' T5PreTrainedModel (factor 1): embedding N(0, 1); queries N(0, (D·d)^−½),
    /// keys, values and MLP inputs N(0, D^−½), attention outputs N(0, (H·d)^−½), MLP outputs N(0, F^−½); position
    /// biases N(0, D^−½); norms 1. The unscaled attention and the d^−½ before a tied head rely on these scales.
    /// </summary>
    public void InitializeRandom(int seed)
    {
        var rng = new Random(seed);
        float d = Config.HiddenSize, headDim = Config.HeadDim, f = Config.IntermediateSize;
        foreach (var p in Parameters)
        {
            var s = p.Tensor.Span;
            if (p.Name.EndsWith("layer_norm.weight")) { s.Fill(1f); continue; }
            float std =
                p.Name is "shared.weight" or "lm_head.weight" ? 1f
                : p.Name.EndsWith(".q.weight") ? 1f / MathF.Sqrt(d * headDim)
                : p.Name.EndsWith(".o.weight") ? 1f / MathF.Sqrt(Config.NumHeads * headDim)
                : p.Name.EndsWith(".wo.weight") ? 1f / MathF.Sqrt(f)
                : 1f / MathF.Sqrt(d); // k, v, wi, wi_0, wi_1, relative_attention_bias
            for (int i = 0; i < s.Length; i++) s[i] = std * Gaussian(rng);
        }
    }

    /// <summary>One stack's relative-position biases for one forward pass, made once per count of extra key rows. The
    /// plain one is made up front, before any block: inference hands back what a block made once it ends.</summary>
    private sealed class PositionBiases
    {
        private readonly Dictionary<int, Tensor> _byExtraRows = new();
        private readonly Tape tape;
        private readonly Tensor table;
        private readonly int queryLen, keyLen, maxDistance;
        private readonly bool bidirectional;

        public PositionBiases(Tape tape, Tensor table, int queryLen, int keyLen, bool bidirectional, int maxDistance)
        {
            (this.tape, this.table, this.queryLen, this.keyLen, this.bidirectional, this.maxDistance) = (tape, table,
                queryLen, keyLen, bidirectional, maxDistance);
            For(0);
        }

        public Tensor For(int extraRows)
        {
            if (!_byExtraRows.TryGetValue(extraRows, out var bias))
                _byExtraRows[extraRows] = bias = Fn.RelativePositionBias(tape, table, queryLen, keyLen, 0,
                    bidirectional, maxDistance, extraRows);
            return bias;
        }
    }
}
