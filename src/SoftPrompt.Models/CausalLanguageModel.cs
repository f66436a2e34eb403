using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models;

/// <summary>
/// A decoder-only model (GPT-2, LLaMA): each position attends to itself and earlier ones, so it can generate, keep a
/// key/value cache and be scored left to right. Everything else it shares with the encoder (see TransformerModel.cs).
/// </summary>
public abstract class CausalLanguageModel : TransformerModel
{
    protected CausalLanguageModel(ModelConfig config) : base(config) { }

    public sealed override bool IsCausal => true;

    /// <summary>Final hidden states (N, D) → logits (N, k) of k vocabulary entries only: a classifier that chooses
    /// among its labels' tokens needs these columns of the LM head, not all V of them.</summary>
    public Tensor LogitsOf(Tape tape, Tensor hidden, int[] tokenIds) =>
        Fn.Linear(tape, hidden, Fn.Embedding(tape, LmHead, tokenIds));

    public static new CausalLanguageModel Create(ModelConfig config) =>
        TransformerModel.Create(config) as CausalLanguageModel
        ?? throw new NotSupportedException($"{config.Architecture} is an encoder, not a causal language model.");
}
