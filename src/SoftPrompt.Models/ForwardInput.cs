using SoftPrompt.Engine;

namespace SoftPrompt.Models;

/// <summary>
/// What one forward pass sees: a batch of B rows of T positions, given as token ids or as ready embeddings
/// (so a soft prompt can be concatenated in front of the embedded text), with optional per-row positions,
/// key padding, per-layer hooks and a key/value cache.
/// </summary>
public sealed class ForwardInput
{
    public required int Batch { get; init; }
    public required int Length { get; init; }

    /// <summary>Token ids, B·T, row-major. Exactly one of TokenIds and Embeddings is set.</summary>
    public int[]? TokenIds { get; init; }

    /// <summary>Input embeddings (B, T, D), e.g. [prompt; embed(x)].</summary>
    public Tensor? Embeddings { get; init; }

    /// <summary>Position of each input row, B·T. Default: cache length + t.</summary>
    public int[]? Positions { get; init; }

    /// <summary>BERT's segment of each position (token_type_ids), B·T; default all 0. Only models with token types take
    /// it.</summary>
    public int[]? TokenTypes { get; init; }

    /// <summary>B·T flags, true where an input position is padding: no query attends to it.</summary>
    public bool[]? Padding { get; init; }

    public ILayerHooks? Hooks { get; init; }

    /// <summary>When set, keys/values of earlier calls are attended to and this call's are appended.</summary>
    public KvCache? Cache { get; init; }

    internal void Validate(ModelConfig config)
    {
        if (Batch <= 0 || Length <= 0)
            throw new ArgumentException($"Forward: batch {Batch} and length {Length} must be positive.");
        if ((TokenIds is null) == (Embeddings is null))
            throw new ArgumentException("Forward: give exactly one of token ids or input embeddings.");
        if (TokenIds is not null && TokenIds.Length != Batch * Length)
            throw new ArgumentException($"Forward: {TokenIds.Length} token ids for a batch of {Batch}×{Length}.");
        if (Embeddings is not null && (Embeddings.Rank != 3 || Embeddings.Dim(0) != Batch || Embeddings.Dim(1) != Length
            || Embeddings.Dim(2) != config.HiddenSize))
            throw new ArgumentException(
                $"Forward: input embeddings have shape [{string.Join(", ", Embeddings.Shape)}], expected [{Batch}, " +
                $"{Length}, {config.HiddenSize}].");
        if (Positions is not null && Positions.Length != Batch * Length)
            throw new ArgumentException($"Forward: {Positions.Length} positions for a batch of {Batch}×{Length}.");
        if (TokenTypes is not null && TokenTypes.Length != Batch * Length)
            throw new ArgumentException($"Forward: {TokenTypes.Length} token types for a batch of {Batch}×{Length}.");
        if (TokenTypes is not null && TokenTypes.Any(type => type < 0 || type >= config.TypeVocabSize))
            throw new ArgumentException(
                $"Forward: token types must lie in [0, {config.TypeVocabSize}) for this model.");
        if (Padding is not null && Padding.Length != Batch * Length)
            throw new ArgumentException($"Forward: {Padding.Length} padding flags for a batch of {Batch}×{Length}.");
        if (Cache is not null && Cache.Batch != Batch)
            throw new ArgumentException($"Forward: the cache holds {Cache.Batch} rows, the input {Batch}.");
    }
}

/// <summary>
/// Where an adapter touches the model inside the layer stack. Prefix tuning adds key/value rows to every layer's
/// attention; deep prompt tuning replaces hidden states at prompt positions as each layer begins; LoRA changes the
/// layer's linear maps; bottleneck adapters change each sublayer's output; LLaMA-Adapter adds gated attention over its
/// own prompt. Every member has a do-nothing default, so an adapter implements only the places it touches.
/// </summary>
public interface ILayerHooks
{
    /// <summary>Extra keys and values (B, P, kvWidth) each, seen by every query of this layer; null for none.
    /// Padding (B·P, true = ignore) lets rows of a mixed batch carry prefixes of different lengths.</summary>
    ExtraKeyValues? ExtraKeyValues(Tape tape, int layer, int batch) => null;

    /// <summary>The hidden state (B, T, D) entering <paramref name="layer"/>; return it unchanged or a
    /// replacement.</summary>
    Tensor LayerInput(Tape tape, int layer, Tensor hidden) => hidden;

    /// <summary>The output (…, Out) of one of the layer's linear maps, x·Wᵀ + b; return it or a replacement.
    /// <paramref name="weight"/> is the model's own (Out, In) parameter, which says which map this is: its Name is the
    /// Hugging Face name (model.layers.0.self_attn.q_proj.weight, transformer.h.0.attn.c_attn.weight, …).</summary>
    Tensor Projection(Tape tape, int layer, Tensor weight, Tensor input, Tensor output) => output;

    /// <summary>What the attention or the feed-forward sublayer (B, T, D) adds to the residual stream; return it or a
    /// replacement.</summary>
    Tensor SublayerOutput(Tape tape, int layer, Sublayer sublayer, Tensor output) => output;

    /// <summary>Attention output (B, T, H·d) added to the layer's own before its output projection; null for
    /// none.</summary>
    Tensor? ExtraAttention(Tape tape, int layer, LayerAttention attention) => null;
}

public sealed record ExtraKeyValues(Tensor Keys, Tensor Values, bool[]? Padding = null);

public enum Sublayer { Attention, FeedForward }

/// <summary>
/// A layer's attention as an adapter may extend it: the position-encoded queries (B, T, H·d) and the layer's own
/// key/value projections (…, D) → (…, kvWidth) each, without positions, for rows the adapter brings.
/// </summary>
public sealed record LayerAttention(Tensor Queries, int NumHeads, int KvHeads, Func<Tensor,
    (Tensor Keys, Tensor Values)> KeyValues);
