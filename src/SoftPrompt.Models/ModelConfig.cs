namespace SoftPrompt.Models;

public enum Architecture { Gpt2, Llama, Bert, T5, GptNeoX, Gemma3 }

/// <summary>How rotary embeddings pair dimensions: (2i, 2i+1) as in Meta's LLaMA code and llama2.c files, or
/// (i, i + d/2) as in Hugging Face's rotate_half.</summary>
public enum RotaryPairing { Interleaved, RotateHalf }

/// <summary>The shape of a transformer; what config.json says, in our names.</summary>
public sealed record ModelConfig
{
    public required Architecture Architecture { get; init; }
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    /// <summary>Key/value heads; fewer than <see cref="NumHeads"/> means grouped-query attention.</summary>
    public int NumKvHeads { get; init; }
    /// <summary>Feed-forward width (GPT-2: 4·hidden unless n_inner says otherwise).</summary>
    public required int IntermediateSize { get; init; }
    public required int MaxPositions { get; init; }
    public float NormEps { get; init; } = 1e-5f;
    public float RopeTheta { get; init; } = 10000f;
    public RotaryPairing RotaryPairing { get; init; } = RotaryPairing.RotateHalf;
    /// <summary>config.json's rope_scaling (Llama 3.1+: "llama3"; "linear"); null for plain rotary
    /// frequencies.</summary>
    public SoftPrompt.Engine.Ops.RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; } = true;
    /// <summary>BERT's segment embeddings (type_vocab_size); 0 for models without them.</summary>
    public int TypeVocabSize { get; init; }
    /// <summary>The id padding rows carry (BERT's [PAD]); informational, attention masks padding explicitly.</summary>
    public int? PadTokenId { get; init; }
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    /// <summary>The activation as config.json names it ("gelu_new", "gelu", "silu", ...); null means the
    /// architecture's usual one. HF's plain "gelu" is the exact erf form, not GPT-2's tanh approximation.</summary>
    public string? HiddenAct { get; init; }

    /// <summary>T5: decoder blocks (num_decoder_layers); <see cref="NumLayers"/> counts the encoder's.</summary>
    public int DecoderLayers { get; init; }
    /// <summary>T5: relative-position buckets per direction pair (relative_attention_num_buckets).</summary>
    public int RelativeAttentionBuckets { get; init; } = 32;
    /// <summary>T5: offsets beyond this share the last bucket (relative_attention_max_distance).</summary>
    public int RelativeAttentionMaxDistance { get; init; } = 128;
    /// <summary>T5 v1.1's gated feed-forward (feed_forward_proj "gated-gelu"): act(wi_0·x) ⊙ wi_1·x.</summary>
    public bool GatedFeedForward { get; init; }
    /// <summary>T5: the token the decoder starts from (decoder_start_token_id; the pad token in T5's files).</summary>
    public int? DecoderStartTokenId { get; init; }

    /// <summary>Width of one attention head when config.json sets it apart from hidden_size / heads (Qwen3's
    /// head_dim); null means hidden_size / heads.</summary>
    public int? HeadDimension { get; init; }
    /// <summary>Qwen2: biases on the query, key and value projections (not on the output projection).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Qwen3: an RMSNorm over each head's query and key (q_norm, k_norm) before the rotary
    /// embedding.</summary>
    public bool QkNorm { get; init; }
    /// <summary>Phi-3: q, k and v in one matrix (qkv_proj, rows q then k then v) and gate and up in another
    /// (gate_up_proj, gate rows first).</summary>
    public bool FusedProjections { get; init; }
    /// <summary>config.json's model_type for a LLaMA-shaped family ("llama", "qwen2", "qwen3"), written back as
    /// read.</summary>
    public string? ModelType { get; init; }

    /// <summary>Gemma 3: one letter per layer, 'S' for a local (sliding-window) layer and 'F' for a global
    /// one.</summary>
    public string? LayerKinds { get; init; }
    /// <summary>Gemma 3: the rotary base of the local layers (rope_local_base_freq); the global ones use
    /// RopeTheta.</summary>
    public float? LocalRopeTheta { get; init; }
    /// <summary>The factor attention scores are multiplied by (Gemma 3: query_pre_attn_scalar^−½); null means
    /// 1/√head_dim.</summary>
    public float? AttentionScale { get; init; }
    /// <summary>GPT-NeoX: the share of each head's dimensions that rotary embeddings turn (rotary_pct).</summary>
    public float RotaryFraction { get; init; } = 1f;
    /// <summary>GPT-NeoX: attention and MLP both read the block's input (use_parallel_residual).</summary>
    public bool ParallelResidual { get; init; }

    public int HeadDim => HeadDimension ?? HiddenSize / NumHeads;
    /// <summary>Dimensions of a head that rotary embeddings turn: int(head_dim · rotary_pct), as transformers rounds
    /// it.</summary>
    public int RotaryDims => (int)(HeadDim * RotaryFraction);
    /// <summary>Width of all query heads together (hidden_size unless <see cref="HeadDimension"/> says
    /// otherwise).</summary>
    public int QueryWidth => NumHeads * HeadDim;
    public int KvHeads => NumKvHeads > 0 ? NumKvHeads : NumHeads;
    public int KvWidth => KvHeads * HeadDim;

    /// <summary>Throws with a message naming the first inconsistent field.</summary>
    public void Validate(string source)
    {
        void Need(bool ok, string what) { if (!ok) throw new InvalidDataException($"{source}: {what}"); }
        Need(VocabSize > 0, $"vocab_size must be positive (got {VocabSize}).");
        Need(HiddenSize > 0, $"hidden size must be positive (got {HiddenSize}).");
        Need(NumLayers > 0, $"number of layers must be positive (got {NumLayers}).");
        Need(NumHeads > 0 && (HeadDimension is not null || HiddenSize % NumHeads == 0),
            $"hidden size {HiddenSize} is not divisible by {NumHeads} attention heads.");
        Need(HeadDimension is null or > 0, $"head_dim must be positive (got {HeadDimension}).");
        Need(KvHeads > 0 && NumHeads % KvHeads == 0,
            $"{NumHeads} attention heads are not a multiple of {KvHeads} key/value heads.");
        Need(IntermediateSize > 0, $"intermediate size must be positive (got {IntermediateSize}).");
        Need(TypeVocabSize >= 0 && (Architecture != Architecture.Bert || TypeVocabSize > 0),
            $"BERT needs at least one token type (got {TypeVocabSize}).");
        Need(MaxPositions > 0, $"max positions must be positive (got {MaxPositions}).");
        Need(Architecture != Architecture.Llama || HeadDim % 2 == 0,
            $"rotary embeddings need an even head dimension (got {HeadDim}).");
        Need(LayerKinds is null || (LayerKinds.Length == NumLayers && LayerKinds.All(c => c is 'S' or 'F')),
            $"layer kinds \"{LayerKinds}\" must give S (sliding) or F (full) for each of the {NumLayers} layers.");
        Need(Architecture != Architecture.GptNeoX || (RotaryDims > 0 && RotaryDims % 2 == 0),
            $"rotary_pct {RotaryFraction} of head dimension {HeadDim} gives {RotaryDims} rotary dimensions; they " +
                $"must be a positive even number.");
        if (Architecture == Architecture.T5)
        {
            Need(DecoderLayers > 0, $"an encoder-decoder needs decoder layers (got {DecoderLayers}).");
            Need(RelativeAttentionBuckets >= 4,
                $"relative attention needs at least 4 buckets (got {RelativeAttentionBuckets}).");
            Need(RelativeAttentionMaxDistance > RelativeAttentionBuckets / 2,
                $"relative_attention_max_distance {RelativeAttentionMaxDistance} must exceed half the " +
                    $"{RelativeAttentionBuckets} buckets.");
        }
    }
}
