using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models;

/// <summary>
/// What GPT-2, LLaMA and BERT share: token embedding → N blocks → final norm → LM head, the key/value bookkeeping of
/// attention (extra prefix rows, the cache, padding) and the adapter hooks; the named parameter list that loading,
/// saving and freezing go through comes from <see cref="ParameterizedModel"/>, which the ViT shares. Each architecture
/// supplies only its own embedding layer, blocks and head (see Gpt2.cs, Llama.cs, Bert.cs); whether attention looks
/// ahead is the one difference between the two families.
/// </summary>
public abstract class TransformerModel : ParameterizedModel
{
    protected TransformerModel(ModelConfig config)
    {
        config.Validate("model config");
        Config = config;
    }

    public ModelConfig Config { get; }

    public abstract Tensor TokenEmbedding { get; }

    /// <summary>
    /// How many times larger an input prompt vector is in PEFT's adapter files than in this model. We put prompt rows
    /// among the token rows before the model's embedding layer, so whatever that layer does to text it does to prompts;
    /// PEFT concatenates them after the embedding module, so where that module scales rows (Gemma 3's ×√D) the prompt
    /// PEFT trains and saves is the scaled one. Prompt adapter files are converted by this factor both ways.
    /// </summary>
    public virtual float PeftPromptScale => 1f;
    protected abstract Tensor LmHead { get; }

    protected override IEnumerable<Tensor> MatricesReadByProducts => [LmHead];

    /// <summary>
    /// Keep only each block's output for backward and run the block again there (gradient checkpointing): a training
    /// step holds one block's activations at a time instead of all of them — at GPT-2 small's shape and 4 × 148
    /// tokens its activation pool shrinks from ~640 MB to ~240 MB — for one more forward of every block (about a
    /// third more work in a step whose weights are frozen). The gradients are the plain path's, to the bit. Applies
    /// to forwards without adapter hooks (a prompt before the input, full or top-k fine-tuning); hooks may keep
    /// tensors across layers.
    /// </summary>
    public bool RecomputeBlocksInBackward { get; set; }

    /// <summary>Logits (B, T, V) for every input position.</summary>
    public Tensor Forward(Tape tape, ForwardInput input) => Logits(tape, Hidden(tape, input));

    /// <summary>Final-norm hidden states (B, T, D): what the LM head or a task head reads.</summary>
    public Tensor Hidden(Tape tape, ForwardInput input)
    {
        input.Validate(Config);
        if (!IsCausal && input.Cache is not null)
            throw new ArgumentException(
                "Forward: an encoder has no key/value cache; every position sees the whole input at once.");
        int b = input.Batch, t = input.Length;
        int past = input.Cache?.Count ?? 0;
        var positions = input.Positions ?? DefaultPositions(b, t, past);
        foreach (int p in positions)
            if (p < 0 || (UsesLearnedPositions && p >= Config.MaxPositions))
                throw new ArgumentException(
                    $"Forward: position {p} is outside the model's {Config.MaxPositions} positions.");

        var h = input.Embeddings ?? Fn.Embedding(tape, TokenEmbedding, input.TokenIds!, b, t);
        h = EmbeddingLayer(tape, h, positions, input);
        bool[]? keyPadding = input.Padding;
        if (input.Cache is not null)
        {
            input.Cache.AppendPadding(input.Padding, t);
            keyPadding = input.Cache.PaddingWith(t);
        }
        var context = new LayerContext(input, positions, past, keyPadding);
        for (int layer = 0; layer < Config.NumLayers; layer++)
        {
            int madeBefore = tape.OwnedCount;
            if (input.Hooks is not null) h = input.Hooks.LayerInput(tape, layer, h);
            if (RecomputeBlocksInBackward && input.Hooks is null && input.Cache is null)
            {
                int replayed = layer; // the backward step runs after the loop has moved on
                h = Fn.Recomputed(tape, h, tape.NeedsGrad(h) || LayerIsTrainable(layer),
                    (segmentTape, x) => Block(segmentTape, replayed, x, context));
            }
            else h = Block(tape, layer, h, context);
            // Inference keeps one block's activations at a time: nothing made inside a block is read again but its
            // output (keys and values the cache needs are copied into it). Hooks may keep tensors across layers
            // (a prefix's rows), so with hooks everything stays until Reset.
            if (!tape.IsRecording && input.Hooks is null) tape.ReturnMadeSince(madeBefore, keep: h);
        }
        input.Cache?.Advance(t);
        return FinalNorm(tape, h);
    }

    public virtual Tensor Logits(Tape tape, Tensor hidden) => Fn.Linear(tape, hidden, LmHead);

    /// <summary>
    /// Mean cross-entropy of final hidden states (..., D) against targets (one per position, −100 to skip): the next
    /// token for a causal model, the hidden token for a masked one. Through the LM head without materialising the
    /// logits.
    /// </summary>
    public virtual Tensor LanguageModelLoss(Tape tape, Tensor hidden, int[] targets) =>
        Fn.LinearCrossEntropy(tape, hidden.Reshape(-1, Config.HiddenSize), LmHead, targets);

    /// <summary>True when a position attends only to itself and earlier ones (GPT-2, LLaMA); false for an
    /// encoder.</summary>
    public abstract bool IsCausal { get; }

    protected virtual bool UsesLearnedPositions => false;

    /// <summary>Token embeddings (B, T, D) → the first layer's input: positions added, for architectures that add
    /// them.</summary>
    protected virtual Tensor EmbeddingLayer(Tape tape, Tensor tokenEmbeddings, int[] positions, ForwardInput input) =>
        tokenEmbeddings;
    protected abstract Tensor Block(Tape tape, int layer, Tensor hidden, LayerContext context);
    protected abstract Tensor FinalNorm(Tape tape, Tensor hidden);

    /// <summary>
    /// Multi-head attention over [extra rows; cached rows; this call's rows]. q (B, T, H·d); k, v (B, T, KV·d),
    /// already position-encoded. Extra rows (prefix tuning) are never cached: they belong to the adapter, not the text.
    /// </summary>
    protected Tensor Attend(Tape tape, int layer, Tensor q, Tensor k, Tensor v, LayerContext context)
    {
        var input = context.Input;
        int b = input.Batch, t = input.Length;
        var extra = input.Hooks?.ExtraKeyValues(tape, layer, b);
        if (input.Cache is not null) (k, v) = input.Cache.Append(tape, layer, k, v);
        int cached = context.Past;
        bool[]? padding = context.KeyPadding;
        if (extra is not null)
        {
            int p = CheckExtraRows(extra, layer, b, Config.KvWidth);
            k = Fn.Concat(tape, 1, extra.Keys, k);
            v = Fn.Concat(tape, 1, extra.Values, v);
            padding = PrependPadding(extra.Padding, p, padding, cached + t, b);
        }
        var attended = Fn.Attention(tape, q, k, v, Config.NumHeads, Config.KvHeads, causal: IsCausal,
            keyPadding: padding,
            scoreScale: Config.AttentionScale);
        return input.Hooks is null ? attended : WithExtraAttention(tape, layer, q, attended, input.Hooks, context);
    }

    // Its own method so that the closure over the layer is only made when an adapter is present.
    private Tensor WithExtraAttention(Tape tape, int layer, Tensor q, Tensor attended, ILayerHooks hooks,
        LayerContext context)
    {
        var extra = hooks.ExtraAttention(tape, layer, new LayerAttention(q, Config.NumHeads, Config.KvHeads,
            x => KeyValues(tape, layer, x, context)));
        if (extra is null) return attended;
        if (!extra.Shape.AsSpan().SequenceEqual(attended.Shape))
            throw new ArgumentException(
                $"Layer {layer}: extra attention output has shape [{string.Join(", ", extra.Shape)}], expected " +
                $"[{string.Join(", ", attended.Shape)}].");
        return Fn.Add(tape, attended, extra);
    }

    /// <summary>The layer's key and value projections of x (…, D), before any position encoding.</summary>
    protected abstract (Tensor Keys, Tensor Values) KeyValues(Tape tape, int layer, Tensor x, LayerContext context);

    /// <summary>x·Wᵀ (+ b), through the adapter's projection hook (LoRA) when there is one.</summary>
    protected static Tensor Project(Tape tape, LayerContext context, int layer, Tensor x, Tensor weight,
        Tensor? bias = null)
    {
        var y = Fn.Linear(tape, x, weight, bias);
        return context.Input.Hooks?.Projection(tape, layer, weight, x, y) ?? y;
    }

    /// <summary>A sublayer's output before the residual add, through the adapter's hook (bottleneck
    /// adapters).</summary>
    protected static Tensor SublayerOutput(Tape tape, LayerContext context, int layer, Sublayer sublayer, Tensor output)
        => context.Input.Hooks?.SublayerOutput(tape, layer, sublayer, output) ?? output;

    /// <summary>The count P of an adapter's extra key/value rows, after checking they are (B, P, kvWidth)
    /// each.</summary>
    internal static int CheckExtraRows(ExtraKeyValues extra, int layer, int batch, int kvWidth)
    {
        if (extra.Keys.Rank != 3 || extra.Keys.Dim(0) != batch || extra.Keys.Dim(2) != kvWidth
            || extra.Values.Length != extra.Keys.Length)
            throw new ArgumentException(
                $"Layer {layer}: extra key/value rows have shape [{string.Join(", ", extra.Keys.Shape)}], expected " +
                $"[{batch}, P, {kvWidth}].");
        return extra.Keys.Dim(1);
    }

    /// <summary>Key padding of [p extra rows; restLength rows] per batch row (T5's self-attention uses it
    /// too).</summary>
    internal static bool[]? PrependPadding(bool[]? extraPadding, int p, bool[]? rest, int restLength, int batch)
    {
        if (extraPadding is null && rest is null) return null;
        var mask = new bool[batch * (p + restLength)];
        for (int r = 0; r < batch; r++)
        {
            for (int i = 0; i < p; i++) mask[r * (p + restLength) + i] = extraPadding is not null
                && extraPadding[r * p + i];
            for (int i = 0; i < restLength; i++) mask[r * (p + restLength) + p + i] = rest is not null
                && rest[r * restLength + i];
        }
        return mask;
    }

    private static int[] DefaultPositions(int batch, int length, int past)
    {
        var positions = new int[batch * length];
        for (int r = 0; r < batch; r++)
            for (int i = 0; i < length; i++) positions[r * length + i] = past + i;
        return positions;
    }

    /// <summary>Normal(0, std) init as GPT-2 does; residual output projections scaled by 1/√(2·layers).</summary>
    public void InitializeRandom(int seed, float std = 0.02f)
    {
        var rng = new Random(seed);
        float residualStd = std / MathF.Sqrt(2 * Config.NumLayers);
        foreach (var p in Parameters)
        {
            var s = p.Tensor.Span;
            if (IsNormGain(p.Name)) { s.Fill(1f); continue; }
            if (p.Name.EndsWith(".bias")) { s.Clear(); continue; }
            float sd = IsResidualProjection(p.Name) ? residualStd : std;
            for (int i = 0; i < s.Length; i++) s[i] = sd * Gaussian(rng);
        }
    }

    protected abstract bool IsNormGain(string name);
    protected abstract bool IsResidualProjection(string name);

    /// <summary>An uninitialised model of the config's architecture.</summary>
    public static TransformerModel Create(ModelConfig config) => config.Architecture switch
    {
        Architecture.Gpt2 => new Gpt2(config),
        Architecture.Llama => new Llama(config),
        Architecture.GptNeoX => new GptNeoX(config),
        Architecture.Gemma3 => new Gemma3(config),
        Architecture.Bert => new Bert(config),
        _ => throw new NotSupportedException($"Architecture {config.Architecture} is not supported."),
    };
}

/// <summary>A parameter under its Hugging Face name, with what it is in the model (<see cref="ParameterRole"/>) and the
/// block it belongs to (null outside the blocks): methods choose parameters by these, never by parsing names.</summary>
public sealed record NamedParameter(string Name, Tensor Tensor, ParameterRole Role = ParameterRole.None,
    int? Layer = null)
{
    public bool Is(ParameterRole role) => (Role & role) != 0;
}

/// <summary>
/// What a parameter is, as each model file declares it when it registers the parameter; flags, since a fused matrix
/// is several things (GPT-2's c_attn is Query | Key | Value) and a bias can belong to a norm or a head.
/// </summary>
[Flags]
public enum ParameterRole
{
    None = 0,
    TokenEmbedding = 1 << 0,
    /// <summary>Position and token-type embeddings.</summary>
    OtherEmbedding = 1 << 1,
    /// <summary>A norm inside or before the blocks (its gain; its bias also carries <see cref="Bias"/>).</summary>
    Norm = 1 << 2,
    /// <summary>The norm after the last block.</summary>
    FinalNorm = 1 << 3,
    Bias = 1 << 4,
    Query = 1 << 5,
    Key = 1 << 6,
    Value = 1 << 7,
    AttentionOutput = 1 << 8,
    MlpUp = 1 << 9,
    MlpGate = 1 << 10,
    MlpDown = 1 << 11,
    /// <summary>Between the last block and the vocabulary: a BERT's MLM transform and output bias.</summary>
    HeadTransform = 1 << 12,
    /// <summary>An untied output projection to the vocabulary.</summary>
    LanguageModelHead = 1 << 13,
}

/// <summary>Per-forward facts every layer needs.</summary>
/// <param name="KeyPadding">Padding of [cached rows; this call's rows], B·(Past+T), or null when none is
/// padded.</param>
public sealed record LayerContext(ForwardInput Input, int[] Positions, int Past, bool[]? KeyPadding);
