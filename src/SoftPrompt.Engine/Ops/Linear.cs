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
        AddBias(y, b, n, outF);
    }

    /// <summary>The same through a bfloat16 weight packed as the right operand of x·Wᵀ (x rounded to
    /// bfloat16).</summary>
    internal static unsafe void Forward(Span<float> y, ReadOnlySpan<float> x, Bf16Panels wTransposed,
        ReadOnlySpan<float> b, int n)
    {
        int inF = wTransposed.K, outF = wTransposed.N;
        CheckLengths(x.Length, (long)n * inF, y.Length, (long)n * outF);
        fixed (float* px = x) fixed (float* py = y) Bf16Gemm.Multiply(n, px, inF, wTransposed, py, outF, false);
        AddBias(y, b, n, outF);
    }

    /// <summary>The same through an int8 weight W [out, in] (x quantized per row to 8 bits).</summary>
    internal static void Forward(Span<float> y, ReadOnlySpan<float> x, Int8Weight w, ReadOnlySpan<float> b, int n)
    {
        CheckLengths(x.Length, (long)n * w.Cols, y.Length, (long)n * w.Rows);
        Int8Gemm.Multiply(n, x, w.Cols, w, y, w.Rows);
        AddBias(y, b, n, w.Rows);
    }

    /// <summary>dx += dy·W through a bfloat16 weight packed for it (dy rounded to bfloat16).</summary>
    internal static unsafe void InputGradient(Span<float> dx, ReadOnlySpan<float> dy, Bf16Panels w, int n)
    {
        int outF = w.K, inF = w.N;
        CheckLengths(dy.Length, (long)n * outF, dx.Length, (long)n * inF);
        fixed (float* pdy = dy) fixed (float* pdx = dx) Bf16Gemm.Multiply(n, pdy, outF, w, pdx, inF, true);
    }

    private static void CheckLengths(int input, long inputNeeds, int output, long outputNeeds)
    {
        if (input < inputNeeds || output < outputNeeds) throw new ArgumentException(
            $"Linear: {input} input values (needs {inputNeeds}) or {output} outputs (needs {outputNeeds}).");
    }

    private static void AddBias(Span<float> y, ReadOnlySpan<float> b, int n, int outF)
    {
        if (b.IsEmpty) return;
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
