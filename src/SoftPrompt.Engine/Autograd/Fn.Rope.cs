using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>
    /// Rotary position embedding of x (B, T, numHeads*d), d even, row r rotated by positions[r] (length B*T: padding
    /// and prompts shift positions per row). Pairs are (2i, 2i+1) for <see cref="RopeStyle.Interleaved"/> and (i,
    /// i+d/2) for <see cref="RopeStyle.RotateHalf"/>, pair i turning by pos·theta^(−2i/d) (rescaled by
    /// <paramref name="scaling"/> if given). Output has x's shape. Backward reads <paramref name="positions"/> again,
    /// so the array must not change until then.
    /// </summary>
    public static Tensor Rope(Tape tape, Tensor x, int numHeads, int[] positions, RopeStyle style, float theta = 10000f,
        RopeScaling? scaling = null)
    {
        if (numHeads <= 0 || x.Cols % numHeads != 0)
            throw new ArgumentException(
                $"Rope: width {x.Cols} of x [{string.Join(", ", x.Shape)}] ({x.Name}) is not divisible by {numHeads} " +
                $"heads.");
        int headDim = x.Cols / numHeads;
        if (headDim % 2 != 0)
            throw new ArgumentException(
                $"Rope: head dimension {headDim} of x [{string.Join(", ", x.Shape)}] must be even.");
        if (positions.Length != x.Rows)
            throw new ArgumentException(
                $"Rope: {positions.Length} positions for {x.Rows} rows of x [{string.Join(", ", x.Shape)}].");
        int maxPosition = 0;
        foreach (int p in positions)
        {
            if (p < 0) throw new ArgumentOutOfRangeException(nameof(positions), $"Rope: negative position {p}.");
            maxPosition = Math.Max(maxPosition, p);
        }
        var table = RopeTable.Get(headDim, theta, maxPosition + 1, scaling);
        bool needs = tape.NeedsGrad(x);
        var y = tape.NewLike(x, needs);
        Ops.Rope.Forward(y.Span, x.ReadOnlySpan, positions, numHeads, headDim, style, table);
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                Ops.Rope.Backward(x.Grad, y.Grad, positions, numHeads, headDim, style, table);
            });
        return y;
    }
}
