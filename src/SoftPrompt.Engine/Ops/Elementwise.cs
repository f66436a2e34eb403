using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Ops;

/// <summary>Same-shape elementwise arithmetic. Backward steps accumulate into whichever gradient is
/// non-empty.</summary>
public static class Elementwise
{
    public static void Add(Span<float> y, ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.Add(a, b,
        y);

    // d(a+b): both inputs receive dy unchanged
    public static void AddBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> dy)
    {
        if (!da.IsEmpty) TensorPrimitives.Add(da, dy, da);
        if (!db.IsEmpty) TensorPrimitives.Add(db, dy, db);
    }

    public static void Multiply(Span<float> y, ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        TensorPrimitives.Multiply(a, b, y);

    // da += dy·b, db += dy·a
    public static void MultiplyBackward(Span<float> da, Span<float> db, ReadOnlySpan<float> dy, ReadOnlySpan<float> a,
        ReadOnlySpan<float> b)
    {
        if (!da.IsEmpty) TensorPrimitives.FusedMultiplyAdd(dy, b, da, da);
        if (!db.IsEmpty) TensorPrimitives.FusedMultiplyAdd(dy, a, db, db);
    }

    public static void Scale(Span<float> y, ReadOnlySpan<float> x, float factor) => TensorPrimitives.Multiply(x, factor,
        y);

    // dx += factor·dy
    public static void ScaleBackward(Span<float> dx, ReadOnlySpan<float> dy, float factor)
    {
        if (!dx.IsEmpty) TensorPrimitives.FusedMultiplyAdd(dy, factor, dx, dx);
    }

    // y (n, c) = x (n, c) · s (c): every row scaled column by column
    public static void ScaleColumns(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> s)
    {
        int c = s.Length;
        for (int r = 0; r < x.Length / c; r++) TensorPrimitives.Multiply(x.Slice(r * c, c), s, y.Slice(r * c, c));
    }

    // dx += dy · s (row by row), ds += Σ_rows dy · x
    public static void ScaleColumnsBackward(Span<float> dx, Span<float> ds, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> x, ReadOnlySpan<float> s)
    {
        int c = s.Length;
        for (int r = 0; r < dy.Length / c; r++)
        {
            var dyRow = dy.Slice(r * c, c);
            if (!dx.IsEmpty) TensorPrimitives.FusedMultiplyAdd(dyRow, s, dx.Slice(r * c, c), dx.Slice(r * c, c));
            if (!ds.IsEmpty) TensorPrimitives.FusedMultiplyAdd(dyRow, x.Slice(r * c, c), ds, ds);
        }
    }
}
