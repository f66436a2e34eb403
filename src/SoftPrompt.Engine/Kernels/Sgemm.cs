using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// Single-precision matrix multiply, row-major: C[m,n] (+)= op(A)[m,k] · op(B)[k,n], where op(A) is A or Aᵀ.
/// A is stored [m,k] (lda ≥ k) or, transposed, [k,m] (lda ≥ m); likewise B is [k,n] or, transposed, [n,k].
/// <para>
/// GotoBLAS-style: B is packed into kc×NR column panels and A into MR×kc row panels (packing absorbs the transposes),
/// and an AVX-512 microkernel keeps an MR×NR tile of C in registers. The two cores split the rows (or, for short
/// products, the columns) of C, each packing its own panels, so no thread waits on another. Products with one or a
/// few rows and a transposed B (decoding: x·Wᵀ) are memory-bound and skip packing: each output is a dot product of
/// two contiguous rows.
/// </para>
/// </summary>
public static unsafe class Sgemm
{
    private const int MR = 8, NR = 32;   // register tile: 8 rows × 2 zmm (16 accumulators)
    private const int KC = 256;          // depth of one packed block: an A panel (8×256) and a B panel (256×32) stay in L1/L2
    private const int MC = 128;          // rows of A packed at once
    private const int NC = 512;          // columns of B packed at once (256×512 floats = 512 KB, within L2)
    private const long ParallelThreshold = 1 << 20; // multiply-adds below which one thread is faster

    [ThreadStatic] private static float[]? _packedA;
    [ThreadStatic] private static float[]? _packedB;

    /// <summary>Which inner loop runs; tests force the portable one to check it on AVX-512 machines too.</summary>
    internal static bool UseAvx512 { get; set; } = Avx512F.IsSupported;

    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        if (m <= 0 || n <= 0) return;
        if (k <= 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) new Span<float>(c + (long)i * ldc, n).Clear();
            return;
        }
        // A(i,p) = a[i·aRow + p·aCol], B(p,j) = b[p·bRow + j·bCol]
        long aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        long bRow = transB ? 1 : ldb, bCol = transB ? ldb : 1;

        if (transB && !transA && m <= 4)
        {
            RowDotProducts(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return;
        }
        if (!UseAvx512)
        {
            Portable(m, n, k, a, aRow, aCol, b, bRow, bCol, c, ldc, accumulate);
            return;
        }

        int threads = (long)m * n * k < ParallelThreshold ? 1 : Parallelism.Threads;
        if (threads <= 1)
        {
            Blocked(0, n, m, k, a, aRow, aCol, b, bRow, bCol, c, ldc, accumulate);
            return;
        }
        // Splitting the rows measured faster than splitting the columns on every training shape (each thread then
        // packs all of B but only its share of A, and A's packing is the scattered one); columns are split only when
        // there are too few rows to share.
        if (m >= threads * MR * 4)
        {
            int blocks = (m + MR - 1) / MR;
            Parallelism.For(threads, t =>
            {
                int first = (int)((long)blocks * t / threads) * MR, last = Math.Min(m, (int)((long)blocks * (t + 1) / threads) * MR);
                if (last > first) Blocked(0, n, last - first, k, a + first * aRow, aRow, aCol, b, bRow, bCol, c + (long)first * ldc, ldc, accumulate);
            });
            return;
        }
        // Column ranges in whole NR panels, as even as possible.
        int panels = (n + NR - 1) / NR;
        Parallelism.For(threads, t =>
        {
            int first = (int)((long)panels * t / threads) * NR, last = Math.Min(n, (int)((long)panels * (t + 1) / threads) * NR);
            if (last > first) Blocked(first, last, m, k, a, aRow, aCol, b, bRow, bCol, c, ldc, accumulate);
        });
    }

    private static void Blocked(int columnStart, int columnEnd, int m, int k, float* a, long aRow, long aCol,
        float* b, long bRow, long bCol, float* c, int ldc, bool accumulate)
    {
        _packedA ??= GC.AllocateUninitializedArray<float>(MC * KC, pinned: true);
        _packedB ??= GC.AllocateUninitializedArray<float>(KC * NC, pinned: true);
        fixed (float* pa = _packedA, pb = _packedB)
        {
            for (int jc = columnStart; jc < columnEnd; jc += NC)
            {
                int nc = Math.Min(NC, columnEnd - jc);
                for (int pc = 0; pc < k; pc += KC)
                {
                    int kc = Math.Min(KC, k - pc);
                    bool overwrite = !accumulate && pc == 0;
                    PackB(pb, b + pc * bRow + jc * bCol, bRow, bCol, kc, nc);
                    for (int ic = 0; ic < m; ic += MC)
                    {
                        int mc = Math.Min(MC, m - ic);
                        PackA(pa, a + ic * aRow + pc * aCol, aRow, aCol, mc, kc);
                        for (int jr = 0; jr < nc; jr += NR)
                            for (int ir = 0; ir < mc; ir += MR)
                                Tile(pa + ir * kc, pb + jr * kc, kc, c + (long)(ic + ir) * ldc + jc + jr, ldc,
                                    Math.Min(MR, mc - ir), Math.Min(NR, nc - jr), overwrite);
                    }
                }
            }
        }
    }

    // B block (kc × nc) → panels of NR columns, each kc rows of NR contiguous floats, zero-padded past nc.
    private static void PackB(float* dst, float* b, long bRow, long bCol, int kc, int nc)
    {
        for (int jr = 0; jr < nc; jr += NR)
        {
            int width = Math.Min(NR, nc - jr);
            float* panel = dst + jr * kc;
            if (bCol == 1)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* from = b + p * bRow + jr;
                    float* to = panel + p * NR;
                    if (width == NR) { Vector512.Store(Vector512.Load(from), to); Vector512.Store(Vector512.Load(from + 16), to + 16); }
                    else { for (int j = 0; j < width; j++) to[j] = from[j]; for (int j = width; j < NR; j++) to[j] = 0; }
                }
            }
            else
            {
                // Transposed B: column j is contiguous in memory; read it once and scatter into the panel.
                for (int j = 0; j < NR; j++)
                {
                    if (j >= width) { for (int p = 0; p < kc; p++) panel[p * NR + j] = 0; continue; }
                    float* column = b + (jr + j) * bCol;
                    for (int p = 0; p < kc; p++) panel[p * NR + j] = column[p * bRow];
                }
            }
        }
    }

    // A block (mc × kc) → panels of MR rows, each kc columns of MR contiguous floats, zero-padded past mc.
    private static void PackA(float* dst, float* a, long aRow, long aCol, int mc, int kc)
    {
        for (int ir = 0; ir < mc; ir += MR)
        {
            int height = Math.Min(MR, mc - ir);
            float* panel = dst + ir * kc;
            if (aRow == 1)
            {
                // Transposed A: row p of the stored matrix holds MR consecutive values of one column of op(A).
                for (int p = 0; p < kc; p++)
                {
                    float* from = a + p * aCol + ir;
                    float* to = panel + p * MR;
                    for (int i = 0; i < height; i++) to[i] = from[i];
                    for (int i = height; i < MR; i++) to[i] = 0;
                }
            }
            else
            {
                for (int i = 0; i < MR; i++)
                {
                    if (i >= height) { for (int p = 0; p < kc; p++) panel[p * MR + i] = 0; continue; }
                    float* row = a + (ir + i) * aRow;
                    for (int p = 0; p < kc; p++) panel[p * MR + i] = row[p * aCol];
                }
            }
        }
    }

    // C tile (rows × cols ≤ MR × NR) (+)= A panel · B panel over kc.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile(float* pa, float* pb, int kc, float* c, int ldc, int rows, int cols, bool overwrite)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default,
            c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default,
            c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(pb);
            var b1 = Vector512.Load(pb + 16);
            Vector512<float> x;
            x = Vector512.Create(pa[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(pa[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(pa[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(pa[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(pa[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(pa[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(pa[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(pa[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            pa += MR;
            pb += NR;
        }
        if (rows == MR && cols == NR)
        {
            StoreRow(c, c00, c01, overwrite); StoreRow(c + ldc, c10, c11, overwrite);
            StoreRow(c + 2 * ldc, c20, c21, overwrite); StoreRow(c + 3 * ldc, c30, c31, overwrite);
            StoreRow(c + 4 * ldc, c40, c41, overwrite); StoreRow(c + 5 * ldc, c50, c51, overwrite);
            StoreRow(c + 6 * ldc, c60, c61, overwrite); StoreRow(c + 7 * ldc, c70, c71, overwrite);
            return;
        }
        float* tile = stackalloc float[MR * NR];
        Vector512.Store(c00, tile); Vector512.Store(c01, tile + 16); Vector512.Store(c10, tile + 32); Vector512.Store(c11, tile + 48);
        Vector512.Store(c20, tile + 64); Vector512.Store(c21, tile + 80); Vector512.Store(c30, tile + 96); Vector512.Store(c31, tile + 112);
        Vector512.Store(c40, tile + 128); Vector512.Store(c41, tile + 144); Vector512.Store(c50, tile + 160); Vector512.Store(c51, tile + 176);
        Vector512.Store(c60, tile + 192); Vector512.Store(c61, tile + 208); Vector512.Store(c70, tile + 224); Vector512.Store(c71, tile + 240);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                c[i * ldc + j] = overwrite ? tile[i * NR + j] : c[i * ldc + j] + tile[i * NR + j];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* c, Vector512<float> left, Vector512<float> right, bool overwrite)
    {
        if (!overwrite)
        {
            left += Vector512.Load(c);
            right += Vector512.Load(c + 16);
        }
        Vector512.Store(left, c);
        Vector512.Store(right, c + 16);
    }

    // C[i, j] (+)= A row i · W row j, both contiguous: the memory-bound few-rows case, split over columns.
    private static void RowDotProducts(int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        int threads = (long)m * n * k < ParallelThreshold ? 1 : Parallelism.Threads;
        Parallelism.For(threads, t =>
        {
            int first = (int)((long)n * t / threads), last = (int)((long)n * (t + 1) / threads);
            for (int i = 0; i < m; i++)
            {
                var row = new ReadOnlySpan<float>(a + (long)i * lda, k);
                float* ci = c + (long)i * ldc;
                for (int j = first; j < last; j++)
                {
                    float dot = TensorPrimitives.Dot(row, new ReadOnlySpan<float>(b + (long)j * ldb, k));
                    ci[j] = accumulate ? ci[j] + dot : dot;
                }
            }
        });
    }

    // Any machine: one row of C at a time as a sum of scaled rows of op(B), vectorised by TensorPrimitives.
    private static void Portable(int m, int n, int k, float* a, long aRow, long aCol, float* b, long bRow, long bCol,
        float* c, int ldc, bool accumulate)
    {
        float[]? column = bCol == 1 ? null : new float[n];
        for (int i = 0; i < m; i++)
        {
            var ci = new Span<float>(c + (long)i * ldc, n);
            if (!accumulate) ci.Clear();
            for (int p = 0; p < k; p++)
            {
                float aip = a[i * aRow + p * aCol];
                if (aip == 0f) continue;
                ReadOnlySpan<float> bp;
                if (column is null) bp = new ReadOnlySpan<float>(b + p * bRow, n);
                else
                {
                    for (int j = 0; j < n; j++) column[j] = b[p * bRow + j * bCol];
                    bp = column;
                }
                TensorPrimitives.MultiplyAdd(bp, aip, ci, ci);
            }
        }
    }

    /// <summary>Span convenience overload with packed leading dimensions.</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        long needA = (long)m * k, needB = (long)k * n, needC = (long)m * n;
        if (a.Length < needA || b.Length < needB || c.Length < needC)
            throw new ArgumentException($"Sgemm operands too small for m={m}, n={n}, k={k}.");
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
            Multiply(transA, transB, m, n, k, pa, transA ? m : k, pb, transB ? k : n, pc, n, accumulate);
    }
}
