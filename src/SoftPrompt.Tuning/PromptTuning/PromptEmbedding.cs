using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>Where the soft prompt sits in a row.</summary>
public enum PromptPlacement
{
    /// <summary>[P; x; y] — Lester et al.</summary>
    BeforeInput,
    /// <summary>[x; P; y] — after the input, where a causal model's prompt positions can read the input (P-tuning's
    /// templates put pseudo tokens there too).</summary>
    BeforeAnswer,
}

/// <summary>
/// Lester et al.'s soft prompt: p trainable vectors of the model's embedding width placed before the embedded text,
/// [P; X]. The model stays frozen; the prompt is the only tensor that receives a gradient.
/// </summary>
public sealed class PromptEmbedding
{
    public PromptEmbedding(int length, int width, string name = "prompt_embeddings")
    {
        if (length <= 0) throw new ArgumentException($"A soft prompt needs at least one virtual token (got {length}).");
        Prompt = Tensor.Parameter(new[] { length, width }, trainable: true, name);
    }

    /// <summary>(p, D), trainable.</summary>
    public Tensor Prompt { get; }
    public int Length => Prompt.Dim(0);

    /// <summary>Classification only: generation always puts the prompt before the input.</summary>
    public PromptPlacement Placement { get; set; } = PromptPlacement.BeforeInput;


    /// <summary>Uniform in [-range, range], the first of Lester et al.'s initialisations.</summary>
    public void InitializeUniform(int seed, float range = 0.5f)
    {
        var rng = new Random(seed);
        var s = Prompt.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)((rng.NextDouble() * 2 - 1) * range);
    }

    /// <summary>[P; X] for every row: text embeddings (B, T, D) → (B, p+T, D).</summary>
    public Tensor Prepend(Tape tape, Tensor textEmbeddings)
    {
        int batch = textEmbeddings.Dim(0), width = Prompt.Dim(1);
        if (textEmbeddings.Rank != 3 || textEmbeddings.Dim(2) != width)
            throw new ArgumentException(
                $"Soft prompt of width {width} cannot precede embeddings of shape " +
                $"[{string.Join(", ", textEmbeddings.Shape)}].");
        var one = Prompt.Reshape(1, Length, width);
        var rows = new Tensor[batch];
        Array.Fill(rows, one);
        return Fn.Concat(tape, 1, Fn.Concat(tape, 0, rows), textEmbeddings);
    }

    /// <summary>The model's forward input for token ids (B·T) behind the prompt.</summary>
    public ForwardInput Input(Tape tape, CausalLanguageModel model, int[] tokenIds, int batch, int length,
        ILayerHooks? hooks = null)
    {
        var text = Fn.Embedding(tape, model.TokenEmbedding, tokenIds, batch, length);
        return new ForwardInput { Batch = batch, Length = Length + length, Embeddings = Prepend(tape, text),
            Hooks = hooks };
    }
}
