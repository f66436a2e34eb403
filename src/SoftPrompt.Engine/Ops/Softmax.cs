using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Ops;

/// <summary>Softmax over the last dimension, and the cross-entropy that fuses it with the negative log-likelihood.</summary>
public static class Softmax
{
    // x, y: (N, C)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, int cols)
    {
        for (int r = 0; r < x.Length / cols; r++)
            TensorPrimitives.SoftMax(x.Slice(r * cols, cols), y.Slice(r * cols, cols));
    }

    // dx = y·(dy − Σ dy·y), row by row
    public static void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> y, int cols)
    {
        for (int r = 0; r < y.Length / cols; r++)
        {
            var yr = y.Slice(r * cols, cols);
            var dyr = dy.Slice(r * cols, cols);
            float dot = TensorPrimitives.Dot(dyr, yr);
            var dxr = dx.Slice(r * cols, cols);
            for (int i = 0; i < cols; i++) dxr[i] += yr[i] * (dyr[i] - dot);
        }
    }
}

/// <summary>
/// Cross-entropy of logits against integer targets, rows whose target is the ignore index contributing nothing.
/// Backward rebuilds each row's softmax from the logits, so no (N, V) probability matrix is kept.
/// </summary>
public static class CrossEntropy
{
    // logits: (N, V); losses: (N) = logsumexp(row) − row[target], 0 for ignored rows
    public static void RowLosses(ReadOnlySpan<float> logits, int n, int vocab, ReadOnlySpan<int> targets, Span<float> losses, int ignoreIndex)
    {
        for (int r = 0; r < n; r++)
        {
            if (targets[r] == ignoreIndex) { losses[r] = 0f; continue; }
            var row = logits.Slice(r * vocab, vocab);
            losses[r] = LogSumExp(row) - row[targets[r]];
        }
    }

    // dlogits[r] += scale·(softmax(row) − onehot(target)) for rows not ignored
    public static void Backward(Span<float> dlogits, ReadOnlySpan<float> logits, int n, int vocab, ReadOnlySpan<int> targets,
        int ignoreIndex, float scale)
    {
        for (int r = 0; r < n; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            var row = logits.Slice(r * vocab, vocab);
            var drow = dlogits.Slice(r * vocab, vocab);
            float lse = LogSumExp(row);
            for (int i = 0; i < vocab; i++) drow[i] += scale * MathF.Exp(row[i] - lse);
            drow[targets[r]] -= scale;
        }
    }

    public static float LogSumExp(ReadOnlySpan<float> row)
    {
        float max = TensorPrimitives.Max(row);
        double sum = 0;
        for (int i = 0; i < row.Length; i++) sum += MathF.Exp(row[i] - max);
        return max + (float)Math.Log(sum);
    }
}
