using SoftPrompt.Engine.Kernels;

namespace SoftPrompt.Engine.Ops;

/// <summary>y = x·Wᵀ + b, the PyTorch nn.Linear convention (W stored [out, in]).</summary>
public static class Linear
{
    // x is (N, In), w is (Out, In), b is (Out) or empty, y is (N, Out)
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        int n, int inF, int outF)
    {
        Sgemm.Multiply(false, true, n, outF, inF, x, w, y, accumulate: false);
        if (!b.IsEmpty)
            for (int r = 0; r < n; r++)
                System.Numerics.Tensors.TensorPrimitives.Add(y.Slice(r * outF, outF), b, y.Slice(r * outF, outF));
    }

    // Accumulates into whichever of dx, dw, db is non-empty: a frozen weight passes an empty dw and costs no GEMM.
    public static void Backward(Span<float> dx, Span<float> dw, Span<float> db, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> x, ReadOnlySpan<float> w, int n, int inF, int outF)
    {
        if (!dx.IsEmpty) Sgemm.Multiply(false, false, n, inF, outF, dy, w, dx, accumulate: true);   // (N,Out)·(Out,In)
        if (!dw.IsEmpty) Sgemm.Multiply(true, false, outF, inF, n, dy, x, dw, accumulate: true);    // (Out,N)·(N,In)
        if (!db.IsEmpty)
            for (int r = 0; r < n; r++)
                System.Numerics.Tensors.TensorPrimitives.Add(db, dy.Slice(r * outF, outF), db);
    }
}
