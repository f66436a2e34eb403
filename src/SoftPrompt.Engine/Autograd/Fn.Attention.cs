using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>
    /// Multi-head scaled dot-product attention with grouped-query heads. q: (B, T, numHeads*d); k, v:
    /// (B, S, numKvHeads*d), S ≥ T when causal. Key j is visible to query t iff not padded and, when causal, j ≤ S−T+t
    /// (the first S−T rows are a prefix or cache every query sees). Without the causal mask any S works: every query
    /// sees every key, as over LLaMA-Adapter's short adaption prompt. keyPadding (B*S, true = masked) may be null.
    /// A query with no visible key outputs zeros. Output (B, T, numHeads*d).
    /// </summary>
    public static Tensor Attention(Tape tape, Tensor q, Tensor k, Tensor v, int numHeads, int numKvHeads, bool causal, bool[]? keyPadding = null)
    {
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3)
            throw new ArgumentException($"Attention: q, k, v must be rank 3 (B, T, heads*d); got [{string.Join(", ", q.Shape)}], [{string.Join(", ", k.Shape)}], [{string.Join(", ", v.Shape)}].");
        if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0)
            throw new ArgumentException($"Attention: {numHeads} query heads cannot be grouped over {numKvHeads} kv heads.");
        if (q.Dim(2) % numHeads != 0)
            throw new ArgumentException($"Attention: q width {q.Dim(2)} ({q.Name}) is not divisible by {numHeads} heads.");
        int batch = q.Dim(0), queryLen = q.Dim(1), keyLen = k.Dim(1), headDim = q.Dim(2) / numHeads;
        if (k.Dim(0) != batch || v.Dim(0) != batch || v.Dim(1) != keyLen)
            throw new ArgumentException($"Attention: batch/key sizes disagree: q [{string.Join(", ", q.Shape)}], k [{string.Join(", ", k.Shape)}], v [{string.Join(", ", v.Shape)}].");
        if (k.Dim(2) != numKvHeads * headDim || v.Dim(2) != numKvHeads * headDim)
            throw new ArgumentException($"Attention: k/v width must be {numKvHeads} kv heads × {headDim} = {numKvHeads * headDim}; got k {k.Dim(2)}, v {v.Dim(2)}.");
        if (causal && keyLen < queryLen)
            throw new ArgumentException($"Attention: k has {keyLen} rows, fewer than the {queryLen} query rows of a causal mask.");
        if (keyPadding is not null && keyPadding.Length != batch * keyLen)
            throw new ArgumentException($"Attention: keyPadding has {keyPadding.Length} entries, expected B*S = {batch}*{keyLen}.");

        var shape = new AttentionShape(batch, queryLen, keyLen, numHeads, numKvHeads, headDim, causal);
        bool needs = tape.NeedsGrad(q, k, v);
        var output = tape.NewTensor(new[] { batch, queryLen, numHeads * headDim }, needs);
        var probs = tape.Scratch(shape.ProbsLength);
        Ops.Attention.Forward(output.Span, probs.Span, q.ReadOnlySpan, k.ReadOnlySpan, v.ReadOnlySpan, keyPadding, shape);
        if (!needs) tape.ReturnEarly(probs); // B·H·T·S floats per layer: inference need not hold them to the end
        if (needs)
            tape.Record(() =>
            {
                if (!output.HasGrad) return;
                var scratch = tape.Scratch(Ops.Attention.BackwardScratchLength(shape));
                Ops.Attention.Backward(
                    q.RequiresGrad ? q.Grad : default,
                    k.RequiresGrad ? k.Grad : default,
                    v.RequiresGrad ? v.Grad : default,
                    output.Grad, probs.ReadOnlySpan, q.ReadOnlySpan, k.ReadOnlySpan, v.ReadOnlySpan, scratch.Span, shape);
            });
        return output;
    }
}
