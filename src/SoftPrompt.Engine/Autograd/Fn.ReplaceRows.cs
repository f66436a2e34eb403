namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>
    /// x with rows rowIndices[i] (indices into x's flattened leading dims, x viewed as (N, C)) replaced by src row i
    /// (src: (rowIndices.Length, C)); indices must be distinct. Output has x's shape. Backward reads
    /// <paramref name="rowIndices"/> again, so the array must not change until then.
    /// </summary>
    public static Tensor ReplaceRows(Tape tape, Tensor x, int[] rowIndices, Tensor src)
    {
        int rows = x.Rows, cols = x.Cols;
        if (src.Cols != cols || src.Rows != rowIndices.Length)
            throw new ArgumentException(
                $"ReplaceRows: src [{string.Join(", ", src.Shape)}] ({src.Name}) must be ({rowIndices.Length}, " +
                $"{cols}) for x [{string.Join(", ", x.Shape)}] ({x.Name}).");
        Span<bool> seen = rows <= 4096 ? stackalloc bool[rows] : new bool[rows];
        foreach (int r in rowIndices)
        {
            if ((uint)r >= (uint)rows)
                throw new ArgumentOutOfRangeException(nameof(rowIndices),
                    $"ReplaceRows: row {r} is outside the {rows} rows of x [{string.Join(", ", x.Shape)}].");
            if (seen[r]) throw new ArgumentException($"ReplaceRows: row {r} is replaced twice.", nameof(rowIndices));
            seen[r] = true;
        }
        bool needs = tape.NeedsGrad(x, src);
        var y = tape.NewLike(x, needs);
        Ops.ReplaceRows.Forward(y.Span, x.ReadOnlySpan, rowIndices, src.ReadOnlySpan, cols);
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                Ops.ReplaceRows.Backward(x.RequiresGrad ? x.Grad : default, src.RequiresGrad ? src.Grad : default,
                    y.Grad, rowIndices, cols);
            });
        return y;
    }
}
