using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Ops;

/// <summary>Softmax over the last dimension, and the cross-entropy that fuses it with the negative
/// log-likelihood.</summary>
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
/// Backward rebuilds each row's softmax from the logits, so no (N, V) probability matrix is kept. Rows are split over
/// the threads and each row's exponentials go through TensorPrimitives on a per-thread buffer: over a 50k vocabulary
/// this is most of the loss's cost.
/// </summary>
public static class CrossEntropy
{
    [ThreadStatic] private static float[]? _rowBuffer;

    // logits: (N, V); losses: (N) = logsumexp(row) − row[target], 0 for ignored rows
    public static unsafe void RowLosses(ReadOnlySpan<float> logits, int n, int vocab, ReadOnlySpan<int> targets,
        Span<float> losses, int ignoreIndex)
    {
        fixed (float* pLogits = logits) fixed (int* pTargets = targets) fixed (float* pLosses = losses)
        {
            float* l = pLogits; int* t = pTargets; float* o = pLosses;
            ForRows(n, vocab, r =>
            {
                if (t[r] == ignoreIndex) { o[r] = 0f; return; }
                var row = new ReadOnlySpan<float>(l + (long)r * vocab, vocab);
                o[r] = LogSumExp(row) - row[t[r]];
            });
        }
    }

    // dlogits[r] += scale·(softmax(row) − onehot(target)) for rows not ignored. Given the rows' losses from RowLosses,
    // each row's log-sum-exp is loss + row[target], which saves a second pass of exponentials over the vocabulary.
    public static unsafe void Backward(Span<float> dlogits, ReadOnlySpan<float> logits, int n, int vocab,
        ReadOnlySpan<int> targets,
        int ignoreIndex, float scale, ReadOnlySpan<float> rowLosses = default)
    {
        if (!rowLosses.IsEmpty && rowLosses.Length < n)
            throw new ArgumentException($"CrossEntropy.Backward: {rowLosses.Length} row losses for {n} rows.");
        fixed (float* pd = dlogits) fixed (float* pLogits = logits) fixed (int* pTargets = targets) fixed (
            float* pLosses = rowLosses)
        {
            float* d = pd, l = pLogits, losses = pLosses; int* t = pTargets;
            ForRows(n, vocab, r =>
            {
                if (t[r] == ignoreIndex) return;
                var row = new ReadOnlySpan<float>(l + (long)r * vocab, vocab);
                var drow = new Span<float>(d + (long)r * vocab, vocab);
                var probabilities = Buffer(vocab);
                float logSumExp = losses is null ? LogSumExp(row) : losses[r] + row[t[r]];
                TensorPrimitives.Subtract(row, logSumExp, probabilities);
                TensorPrimitives.Exp(probabilities, probabilities);
                TensorPrimitives.MultiplyAdd(probabilities, scale, drow, drow);
                drow[t[r]] -= scale;
            });
        }
    }

    public static float LogSumExp(ReadOnlySpan<float> row)
    {
        float max = TensorPrimitives.Max(row);
        var shifted = Buffer(row.Length);
        TensorPrimitives.Subtract(row, max, shifted);
        TensorPrimitives.Exp(shifted, shifted);
        return max + MathF.Log(TensorPrimitives.Sum(shifted));
    }

    private static Span<float> Buffer(int length)
    {
        if (_rowBuffer is null || _rowBuffer.Length < length) _rowBuffer = new float[length];
        return _rowBuffer.AsSpan(0, length);
    }

    // Rows in contiguous ranges, one per thread, when there is enough work to share.
    private static void ForRows(int n, int vocab, Action<int> row)
    {
        int threads = (long)n * vocab < 1 << 18 ? 1 : Math.Min(Parallelism.Threads, n);
        Parallelism.For(threads, c =>
        {
            int first = (int)((long)n * c / threads), last = (int)((long)n * (c + 1) / threads);
            for (int r = first; r < last; r++) row(r);
        });
    }
}
