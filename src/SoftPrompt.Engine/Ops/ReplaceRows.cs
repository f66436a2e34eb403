using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Ops;

/// <summary>
/// y = x with rows rowIndices[i] replaced by src row i (deep prompts overwrite the prompt positions of a layer's
/// hidden states). Row indices must be distinct, so every replaced row has exactly one source.
/// </summary>
public static class ReplaceRows
{
    // x and y are (N, C), src is (rowIndices.Length, C)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<int> rowIndices,
        ReadOnlySpan<float> src, int cols)
    {
        x.CopyTo(y);
        for (int i = 0; i < rowIndices.Length; i++)
            src.Slice(i * cols, cols).CopyTo(y.Slice(rowIndices[i] * cols, cols));
    }

    // dx += dy except on replaced rows; dsrc[i] += dy[rowIndices[i]]. Either gradient may be empty (skipped).
    public static void Backward(Span<float> dx, Span<float> dsrc, ReadOnlySpan<float> dy, ReadOnlySpan<int> rowIndices,
        int cols)
    {
        if (!dsrc.IsEmpty)
            for (int i = 0; i < rowIndices.Length; i++)
            {
                var to = dsrc.Slice(i * cols, cols);
                TensorPrimitives.Add(to, dy.Slice(rowIndices[i] * cols, cols), to);
            }
        if (dx.IsEmpty) return;
        int rows = cols == 0 ? 0 : dy.Length / cols;
        Span<bool> replaced = rows <= 4096 ? stackalloc bool[rows] : new bool[rows];
        foreach (int r in rowIndices) replaced[r] = true;
        for (int r = 0; r < rows; r++)
        {
            if (replaced[r]) continue;
            var to = dx.Slice(r * cols, cols);
            TensorPrimitives.Add(to, dy.Slice(r * cols, cols), to);
        }
    }
}
