using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>
    /// Multi-head scaled dot-product attention with grouped-query heads. q: (B, T, numHeads*d); k, v:
    /// (B, S, numKvHeads*d), S ≥ T when causal. Key j is visible to query t iff not padded and, when causal, j ≤ S−T+t
    /// (the first S−T rows are a prefix or cache every query sees). Without the causal mask any S works: every query
    /// sees every key, as over LLaMA-Adapter's short adaption prompt. keyPadding (B*S, true = masked) may be null.
    /// A query with no visible key outputs zeros. Output (B, T, numHeads*d). scoreBias (numHeads, T, S), shared by the
    /// batch rows, is added to the scaled scores (T5's relative positions); scoreScale replaces 1/√d (T5: 1).
    /// </summary>
    public static Tensor Attention(Tape tape, Tensor q, Tensor k, Tensor v, int numHeads, int numKvHeads, bool causal,
        bool[]? keyPadding = null, Tensor? scoreBias = null, float? scoreScale = null)
    {
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3)
            throw new ArgumentException(
                $"Attention: q, k, v must be rank 3 (B, T, heads*d); got [{string.Join(", ", q.Shape)}], " +
                $"[{string.Join(", ", k.Shape)}], [{string.Join(", ", v.Shape)}].");
        if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0)
            throw new ArgumentException(
                $"Attention: {numHeads} query heads cannot be grouped over {numKvHeads} kv heads.");
        if (q.Dim(2) % numHeads != 0)
            throw new ArgumentException(
                $"Attention: q width {q.Dim(2)} ({q.Name}) is not divisible by {numHeads} heads.");
        int batch = q.Dim(0), queryLen = q.Dim(1), keyLen = k.Dim(1), headDim = q.Dim(2) / numHeads;
        if (k.Dim(0) != batch || v.Dim(0) != batch || v.Dim(1) != keyLen)
            throw new ArgumentException(
                $"Attention: batch/key sizes disagree: q [{string.Join(", ", q.Shape)}], k " +
                $"[{string.Join(", ", k.Shape)}], v [{string.Join(", ", v.Shape)}].");
        if (k.Dim(2) != numKvHeads * headDim || v.Dim(2) != numKvHeads * headDim)
            throw new ArgumentException(
                $"Attention: k/v width must be {numKvHeads} kv heads × {headDim} = {numKvHeads * headDim}; got k " +
                $"{k.Dim(2)}, v {v.Dim(2)}.");
        if (causal && keyLen < queryLen)
            throw new ArgumentException(
                $"Attention: k has {keyLen} rows, fewer than the {queryLen} query rows of a causal mask.");
        if (keyPadding is not null && keyPadding.Length != batch * keyLen)
            throw new ArgumentException(
                $"Attention: keyPadding has {keyPadding.Length} entries, expected B*S = {batch}*{keyLen}.");

        if (scoreBias is not null && (scoreBias.Rank != 3 || scoreBias.Dim(0) != numHeads
            || scoreBias.Dim(1) != queryLen || scoreBias.Dim(2) != keyLen))
            throw new ArgumentException(
                $"Attention: the score bias has shape [{string.Join(", ", scoreBias.Shape)}], expected [{numHeads}, " +
                $"{queryLen}, {keyLen}] (heads, queries, keys).");

        var shape = new AttentionShape(batch, queryLen, keyLen, numHeads, numKvHeads, headDim, causal) { ScoreScale =
            scoreScale };
        bool needs = tape.NeedsGrad(q, k, v) || (scoreBias is not null && tape.NeedsGrad(scoreBias));
        var output = tape.NewTensor(new[] { batch, queryLen, numHeads * headDim }, needs);
        var probs = tape.Scratch(shape.ProbsLength);
        Ops.Attention.Forward(output.Span, probs.Span, q.ReadOnlySpan, k.ReadOnlySpan, v.ReadOnlySpan, keyPadding,
            shape,
            scoreBias is null ? default : scoreBias.ReadOnlySpan);
        if (!needs) tape.ReturnEarly(probs); // B·H·T·S floats per layer: inference need not hold them to the end
        if (needs)
            tape.Record(() =>
            {
                if (!output.HasGrad) return;
                bool biasGradient = scoreBias is { RequiresGrad: true };
                var scratch = tape.Scratch(Ops.Attention.BackwardScratchLength(shape, biasGradient));
                Ops.Attention.Backward(
                    q.RequiresGrad ? q.Grad : default,
                    k.RequiresGrad ? k.Grad : default,
                    v.RequiresGrad ? v.Grad : default,
                    output.Grad, probs.ReadOnlySpan, q.ReadOnlySpan, k.ReadOnlySpan, v.ReadOnlySpan, scratch.Span,
                    shape,
                    biasGradient ? scoreBias!.Grad : default);
            });
        return output;
    }

    /// <summary>
    /// T5's score bias (H, T, extraKeys + S) for queries at positions queryOffset..queryOffset+T−1 and keys at 0..S−1,
    /// looked up in <paramref name="table"/> (numBuckets, H) by relative-position bucket; the extraKeys leading columns
    /// (prefix rows, which have no position) are zero.
    /// </summary>
    public static Tensor RelativePositionBias(Tape tape, Tensor table, int queryLen, int keyLen, int queryOffset,
        bool bidirectional,
        int maxDistance, int extraKeys = 0)
    {
        if (table.Rank != 2)
            throw new ArgumentException($"RelativePositionBias: table {ShapeText(table)} must be (buckets, heads).");
        if (queryLen < 0 || keyLen < 0 || extraKeys < 0 || queryOffset < 0)
            throw new ArgumentException(
                $"RelativePositionBias: negative sizes (queries {queryLen}, keys {keyLen}, offset {queryOffset}, " +
                $"extra {extraKeys}).");
        int numBuckets = table.Dim(0), heads = table.Dim(1);
        var buckets = Ops.RelativePositionBias.Buckets(queryLen, keyLen, queryOffset, bidirectional, numBuckets,
            maxDistance);
        bool needs = tape.NeedsGrad(table);
        var bias = tape.NewTensor(new[] { heads, queryLen, extraKeys + keyLen }, needs);
        Ops.RelativePositionBias.Forward(bias.Span, table.ReadOnlySpan, buckets, heads, queryLen, keyLen, extraKeys);
        if (needs)
            tape.Record(() =>
            {
                if (bias.HasGrad) Ops.RelativePositionBias.Backward(table.Grad, bias.Grad, buckets, heads, queryLen,
                    keyLen, extraKeys);
            });
        return bias;
    }
}
