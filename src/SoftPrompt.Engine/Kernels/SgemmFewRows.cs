using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// <see cref="Sgemm"/> for at most <see cref="Sgemm.FewRows"/> rows of C (decoding, single examples). Each element of
/// B is used only m times, so the product is bound by reading B once; packing would double that traffic. Threads
/// split the columns of C.
/// </summary>
internal static unsafe class SgemmFewRows
{
    private const int ColumnBlock = 512; // columns of C kept in L1 while the rows of B stream past

    [ThreadStatic] private static float[]? _rowOfA;

    public static void Multiply(bool transB, int m, int n, int k, Operands op, int threads)
    {
        threads = Math.Max(1, Math.Min(threads, n / 64));
        Parallelism.For(threads, t =>
        {
            int first = (int)((long)n * t / threads), last = (int)((long)n * (t + 1) / threads);
            if (transB) Dots(m, first, last, k, op);
            else ScaledRowSums(m, first, last, k, op);
        });
    }

    // Stored Bᵀ: column j of op(B) is contiguous, so C(i,j) is one dot product of two contiguous vectors.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots(int m, int first, int last, int k, in Operands op)
    {
        for (int i = 0; i < m; i++)
        {
            ReadOnlySpan<float> row = RowOfA(i, k, op);
            float* ci = op.C + (long)i * op.Ldc;
            for (int j = first; j < last; j++)
            {
                float dot = TensorPrimitives.Dot(row, new ReadOnlySpan<float>(op.B + j * op.BCol, k));
                ci[j] = op.Accumulate ? ci[j] + dot : dot;
            }
        }
    }

    // Stored B: row i of C is Σ_p op(A)(i,p) · (row p of B), accumulated one column block at a time.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaledRowSums(int m, int first, int last, int k, in Operands op)
    {
        for (int j0 = first; j0 < last; j0 += ColumnBlock)
        {
            int width = Math.Min(ColumnBlock, last - j0);
            for (int i = 0; i < m; i++)
            {
                var ci = new Span<float>(op.C + (long)i * op.Ldc + j0, width);
                if (!op.Accumulate) ci.Clear();
                float* ai = op.A + i * op.ARow;
                for (int p = 0; p < k; p++)
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(op.B + p * op.BRow + j0, width), ai[p * op.ACol], ci, ci);
            }
        }
    }

    // Row i of op(A) as a contiguous span: A's own row, or a gathered copy when A is stored transposed.
    private static ReadOnlySpan<float> RowOfA(int i, int k, in Operands op)
    {
        if (op.ACol == 1) return new ReadOnlySpan<float>(op.A + i * op.ARow, k);
        if (_rowOfA is null || _rowOfA.Length < k) _rowOfA = new float[Math.Max(k, 1024)];
        for (int p = 0; p < k; p++) _rowOfA[p] = op.A[i * op.ARow + p * op.ACol];
        return _rowOfA.AsSpan(0, k);
    }
}
