using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// <see cref="Sgemm"/> for at most <see cref="Sgemm.FewRows"/> rows of C (decoding, single examples). Each element of
/// B is used only m times, so the product is bound by reading B once; packing would double that traffic. Threads
/// split the columns of C. The loops are written out here rather than calling TensorPrimitives: its generic code
/// runs unoptimised for the first few hundred calls, which for decoding is the first quarter second.
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

    // Stored Bᵀ: column j of op(B) is contiguous, so C(i,j) is a dot product of two contiguous vectors; four
    // columns at a time share each load of the row of A.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dots(int m, int first, int last, int k, in Operands op)
    {
        for (int i = 0; i < m; i++)
        {
            float* row = RowOfA(i, k, op);
            float* ci = op.C + (long)i * op.Ldc;
            int j = first;
            for (; j + 4 <= last; j += 4)
            {
                float* b0 = op.B + j * op.BCol, b1 = b0 + op.BCol, b2 = b1 + op.BCol, b3 = b2 + op.BCol;
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
                int p = 0;
                for (; p + 8 <= k; p += 8)
                {
                    var x = Vector256.Load(row + p);
                    s0 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b0 + p), s0);
                    s1 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b1 + p), s1);
                    s2 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b2 + p), s2);
                    s3 = Vector256.MultiplyAddEstimate(x, Vector256.Load(b3 + p), s3);
                }
                float d0 = Vector256.Sum(s0), d1 = Vector256.Sum(s1), d2 = Vector256.Sum(s2), d3 = Vector256.Sum(s3);
                for (; p < k; p++)
                {
                    d0 += row[p] * b0[p]; d1 += row[p] * b1[p]; d2 += row[p] * b2[p]; d3 += row[p] * b3[p];
                }
                Write(ci + j, d0, op.Accumulate); Write(ci + j + 1, d1, op.Accumulate);
                Write(ci + j + 2, d2, op.Accumulate); Write(ci + j + 3, d3, op.Accumulate);
            }
            for (; j < last; j++)
            {
                float* bj = op.B + j * op.BCol;
                var s0 = Vector256<float>.Zero;
                int p = 0;
                for (; p + 8 <= k; p += 8) s0 = Vector256.MultiplyAddEstimate(Vector256.Load(row + p),
                    Vector256.Load(bj + p), s0);
                float d = Vector256.Sum(s0);
                for (; p < k; p++) d += row[p] * bj[p];
                Write(ci + j, d, op.Accumulate);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(float* c, float value, bool accumulate) => *c = accumulate ? *c + value : value;

    // Stored B: row i of C is Σ_p op(A)(i,p) · (row p of B), accumulated one L1-sized column block at a time, four
    // rows of B per pass over the block so the block is loaded and stored a quarter as often.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaledRowSums(int m, int first, int last, int k, in Operands op)
    {
        for (int j0 = first; j0 < last; j0 += ColumnBlock)
        {
            int width = Math.Min(ColumnBlock, last - j0), vectorWidth = width / 8 * 8;
            for (int i = 0; i < m; i++)
            {
                float* ci = op.C + (long)i * op.Ldc + j0;
                if (!op.Accumulate) new Span<float>(ci, width).Clear();
                float* ai = op.A + i * op.ARow;
                int p = 0;
                for (; p + 4 <= k; p += 4)
                {
                    float* b0 = op.B + p * op.BRow + j0, b1 = b0 + op.BRow, b2 = b1 + op.BRow, b3 = b2 + op.BRow;
                    float a0 = ai[p * op.ACol], a1 = ai[(p + 1) * op.ACol], a2 = ai[(p + 2) * op.ACol],
                        a3 = ai[(p + 3) * op.ACol];
                    Vector256<float> x0 = Vector256.Create(a0), x1 = Vector256.Create(a1), x2 = Vector256.Create(a2),
                        x3 = Vector256.Create(a3);
                    int j = 0;
                    for (; j < vectorWidth; j += 8)
                    {
                        var sum = Vector256.MultiplyAddEstimate(x0, Vector256.Load(b0 + j), Vector256.Load(ci + j));
                        sum = Vector256.MultiplyAddEstimate(x1, Vector256.Load(b1 + j), sum);
                        sum = Vector256.MultiplyAddEstimate(x2, Vector256.Load(b2 + j), sum);
                        Vector256.Store(Vector256.MultiplyAddEstimate(x3, Vector256.Load(b3 + j), sum), ci + j);
                    }
                    for (; j < width; j++) ci[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
                }
                for (; p < k; p++)
                {
                    float* bp = op.B + p * op.BRow + j0;
                    float ap = ai[p * op.ACol];
                    var x = Vector256.Create(ap);
                    int j = 0;
                    for (; j < vectorWidth; j += 8) Vector256.Store(Vector256.MultiplyAddEstimate(x,
                        Vector256.Load(bp + j), Vector256.Load(ci + j)), ci + j);
                    for (; j < width; j++) ci[j] += ap * bp[j];
                }
            }
        }
    }

    // Row i of op(A) as contiguous memory: A's own row, or a gathered copy when A is stored transposed.
    private static float* RowOfA(int i, int k, in Operands op)
    {
        if (op.ACol == 1) return op.A + i * op.ARow;
        if (_rowOfA is null || _rowOfA.Length < k) _rowOfA = GC.AllocateUninitializedArray<float>(Math.Max(k, 1024),
            pinned: true);
        float* row = (float*)Unsafe.AsPointer(ref _rowOfA[0]); // pinned array: the address is stable
        for (int p = 0; p < k; p++) row[p] = op.A[i * op.ARow + p * op.ACol];
        return row;
    }
}
