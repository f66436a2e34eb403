using System.Runtime.CompilerServices;

namespace SoftPrompt.Engine.Kernels;

/// <summary>Which register-tiled inner loop <see cref="Sgemm"/> runs; tests force each one on machines that have the
/// best.</summary>
internal enum SgemmKernel
{
    Scalar,
    Avx2,
    Avx512,
}

/// <summary>
/// Single-precision matrix multiply, row-major: C[m,n] (+)= op(A)[m,k] · op(B)[k,n], where op(A) is A or Aᵀ.
/// A is stored [m,k] (lda ≥ k) or, transposed, [k,m] (lda ≥ m); likewise B is [k,n] or, transposed, [n,k].
/// <para>
/// GotoBLAS/BLIS-style: the threads pack op(A) once into MR-row panels (all of k), then each walks the
/// column chunks of C it claims in NC-wide blocks, packing a KC×NC block of op(B) into NR-column panels that stay
/// in L2 while a register-tiled microkernel sweeps them against the A panels. Packing absorbs the transposes, so
/// all four cases run the same microkernel. Splitting columns lets each thread pack only its own part of B (the
/// large operand on training shapes); when there are few columns the rows are split instead. Products with a
/// handful of rows skip packing entirely (see <see cref="SgemmFewRows"/>): they are memory-bound and each B element
/// is used only m times.
/// </para>
/// </summary>
public static unsafe class Sgemm
{
    // depth of a packed block: a 14×256 A panel and a 256×32 B panel fit L1 together
    private const int KC = 256;
    // columns of B packed at once (256×512 floats = 512 KB, half of L2)
    private const int NC = 512;
    // A panels swept per B panel before moving on (8·14×256 floats ≈ 112 KB of L2)
    private const int MCPanels = 8;
    // floats of packed A held per thread (8 MB, L3); deeper products go in row chunks
    private const int MaxPackedA = 1 << 21;
    // multiply-adds below which one thread is faster than two
    private const long ParallelThreshold = 1 << 21;
    // at most this many rows of C: no packing (memory-bound, B used m times)
    internal const int FewRows = 4;

    [ThreadStatic] private static float[]? _packedA;
    [ThreadStatic] private static float[]? _packedB;

    [ThreadStatic] private static SgemmKernel? _kernelOnThisThread;

    /// <summary>The inner loop in use: the widest the CPU supports. Tests set a narrower one to check it, for the
    /// calling thread only, so products computed beside them in other tests keep their bits.</summary>
    internal static SgemmKernel Kernel
    {
        get => _kernelOnThisThread ?? SgemmMicroKernels.Best;
        set => _kernelOnThisThread = value;
    }

    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m),
            $"Sgemm sizes must be non-negative (m={m}, n={n}, k={k}).");
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) new Span<float>(c + (long)i * ldc, n).Clear();
            return;
        }
        // Element (i, p) of op(A) lives at a[i·aRow + p·aCol]; (p, j) of op(B) at b[p·bRow + j·bCol].
        var op = new Operands(a, transA ? 1 : lda, transA ? lda : 1, b, transB ? 1 : ldb, transB ? ldb : 1, c, ldc,
            accumulate);
        int threads = (long)m * n * k < ParallelThreshold ? 1 : Parallelism.Threads;

        if (m <= FewRows)
        {
            SgemmFewRows.Multiply(transB, m, n, k, op, threads);
            return;
        }
        var kernel = Kernel;
        var (mr, nr) = SgemmMicroKernels.Tile(kernel);
        // A deep product whose rows cannot all be packed (all of k) would go in row chunks, and every row chunk packs
        // all of B again — for an LM head's dX = G·W (k = vocabulary) that is B's 150 MB re-packed per 28 rows. Split
        // k instead, so every chunk packs all rows of its slice of A and its slice of B is packed once in all.
        long paddedRows = (m + mr - 1) / mr * mr;
        int depthChunk = (int)Math.Min(k, MaxPackedA / paddedRows / KC * KC);
        if (depthChunk >= KC && depthChunk < k)
        {
            for (int p = 0; p < k; p += depthChunk)
            {
                int depth = Math.Min(depthChunk, k - p);
                Multiply(transA, transB, m, n, depth, a + p * op.ACol, lda, b + p * op.BRow, ldb, c, ldc, accumulate
                    || p > 0);
            }
            return;
        }
        if (threads <= 1)
        {
            Blocked(kernel, 0, m, 0, n, k, op);
            return;
        }
        int columnPanels = (n + nr - 1) / nr, rowPanels = (m + mr - 1) / mr;
        if (columnPanels >= 4 * threads || columnPanels >= rowPanels) MultiplySplittingColumns(kernel, m, n, k, op,
            threads);
        else
        {
            // Few columns: B is small, so each thread packing all of it costs little; the rows are shared out.
            threads = Math.Min(threads, rowPanels);
            Parallelism.For(threads, t =>
            {
                int first = (int)((long)rowPanels * t / threads) * mr,
                    last = Math.Min(m, (int)((long)rowPanels * (t + 1) / threads) * mr);
                Blocked(kernel, first, last, 0, n, k, op);
            });
        }
    }

    // The threads pack op(A) together into one shared buffer, then claim column chunks of C until none are left,
    // each packing only its own chunks of B. Claiming (rather than a fixed half each) keeps both cores busy when one
    // is slowed by other work. Packing is claimed the same way and a thread waits only for panels another thread has
    // already claimed, so a serial run (nested call) packs everything itself and never blocks.
    private static void MultiplySplittingColumns(SgemmKernel kernel, int m, int n, int k, Operands op, int threads)
    {
        const int PanelsPerPackingUnit = 4;
        var (mr, nr) = SgemmMicroKernels.Tile(kernel);
        // Every chunk streams all of packed A past its B panels, so chunks narrower than ~8 panels spend more time
        // fetching A than computing. Up to 16 panels per thread, each thread gets one even chunk; wider products get
        // about four chunks per thread of 8 to 16 panels.
        int columnPanels = (n + nr - 1) / nr, panelsPerThread = (columnPanels + threads - 1) / threads;
        int chunkPanels = panelsPerThread <= 16 ? panelsPerThread : Math.Clamp(columnPanels / (4 * threads), 8,
            NC / nr);
        int chunkWidth = chunkPanels * nr, chunks = (n + chunkWidth - 1) / chunkWidth;
        int rowChunk = RowChunk(m, k, mr);
        float[] shared = RentSharedA(Math.Min(rowChunk, (m + mr - 1) / mr * mr) * k);
        try
        {
            float* packedA = (float*)Unsafe.AsPointer(ref shared[0]); // pinned: the address is stable
            for (int ic = 0; ic < m; ic += rowChunk)
            {
                int rowStart = ic, rowCount = Math.Min(rowChunk, m - ic);
                int units = ((rowCount + mr - 1) / mr + PanelsPerPackingUnit - 1) / PanelsPerPackingUnit;
                int packingClaimed = 0, packed = 0, chunksClaimed = 0;
                Parallelism.For(Math.Min(threads, chunks), _ =>
                {
                    for (int unit; (unit = Interlocked.Increment(ref packingClaimed) - 1) < units;)
                    {
                        PackRowPanels(packedA, rowStart, rowCount, unit * PanelsPerPackingUnit, PanelsPerPackingUnit, k,
                            mr, op);
                        Interlocked.Increment(ref packed);
                    }
                    var spin = new SpinWait();
                    while (Volatile.Read(ref packed) < units) spin.SpinOnce();
                    for (int chunk; (chunk = Interlocked.Increment(ref chunksClaimed) - 1) < chunks;)
                    {
                        int columnStart = chunk * chunkWidth;
                        MultiplyPackedRows(kernel, packedA, rowStart, rowCount, columnStart,
                            Math.Min(n, columnStart + chunkWidth), k, op);
                    }
                });
            }
        }
        finally { ReturnSharedA(shared); }
    }

    // One shared packed-A buffer is kept between calls; a concurrent caller that finds it taken allocates its own.
    private static float[]? _sharedPackedA;

    private static float[] RentSharedA(int length)
    {
        var buffer = Interlocked.Exchange(ref _sharedPackedA, null);
        return buffer is not null && buffer.Length >= length ? buffer : GC.AllocateUninitializedArray<float>(
            Math.Max(length, 1 << 16), pinned: true);
    }

    private static void ReturnSharedA(float[] buffer)
    {
        var current = Volatile.Read(ref _sharedPackedA);
        if (current is null || current.Length < buffer.Length) Interlocked.CompareExchange(ref _sharedPackedA, buffer,
            current);
    }

    /// <summary>Span convenience overload with packed leading dimensions.</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, bool accumulate)
    {
        long needA = (long)m * k, needB = (long)k * n, needC = (long)m * n;
        if (a.Length < needA || b.Length < needB || c.Length < needC)
            throw new ArgumentException(
                $"Sgemm operands too small for m={m}, n={n}, k={k}: A has {a.Length} (needs {needA}), " +
                $"B has {b.Length} (needs {needB}), C has {c.Length} (needs {needC}).");
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* pc = c)
            Multiply(transA, transB, m, n, k, pa, transA ? m : k, pb, transB ? k : n, pc, n, accumulate);
    }

    // Rows [rowStart, rowEnd) × columns [columnStart, columnEnd) of C, on the calling thread.
    private static void Blocked(SgemmKernel kernel, int rowStart, int rowEnd, int columnStart, int columnEnd, int k,
        in Operands op)
    {
        int mr = SgemmMicroKernels.Tile(kernel).Rows, rowChunk = RowChunk(rowEnd - rowStart, k, mr);
        for (int ic = rowStart; ic < rowEnd; ic += rowChunk)
        {
            int rowCount = Math.Min(rowChunk, rowEnd - ic);
            MultiplyPackedRows(kernel, PackRows(ic, rowCount, k, mr, op), ic, rowCount, columnStart, columnEnd, k, op);
        }
    }

    // Rows packed at once: whole MR panels, as many as keep the packed A (all of k) within MaxPackedA.
    private static int RowChunk(int rows, int k, int mr) => Math.Max(mr, Math.Min((rows + mr - 1) / mr * mr,
        MaxPackedA / k / mr * mr));

    // Rows [rowStart, rowStart + rowCount) of op(A), all of k, into this thread's buffer.
    private static float* PackRows(int rowStart, int rowCount, int k, int mr, in Operands op)
    {
        int paddedRows = (rowCount + mr - 1) / mr * mr;
        if (_packedA is null || _packedA.Length < paddedRows * k)
            _packedA = GC.AllocateUninitializedArray<float>(Math.Max(paddedRows * k, 1 << 16), pinned: true);
        float* packedA = (float*)Unsafe.AsPointer(ref _packedA[0]); // pinned: the address is stable
        PackRowPanels(packedA, rowStart, rowCount, 0, paddedRows / mr, k, mr, op);
        return packedA;
    }

    // Row panels [firstPanel, firstPanel + panelCount) of the rowCount rows from rowStart, all of k. Layout: K blocks
    // one after another, block pc holding every row panel of (kc × MR) in order.
    private static void PackRowPanels(float* packedA, int rowStart, int rowCount, int firstPanel, int panelCount, int k,
        int mr, in Operands op)
    {
        int paddedRows = (rowCount + mr - 1) / mr * mr, firstRow = firstPanel * mr;
        int rows = Math.Min(panelCount * mr, rowCount - firstRow);
        if (rows <= 0) return;
        for (int pc = 0; pc < k; pc += KC)
        {
            int kc = Math.Min(KC, k - pc);
            SgemmPacking.PackA(packedA + (long)pc * paddedRows + (long)firstRow * kc,
                op.A + (rowStart + firstRow) * op.ARow + pc * op.ACol, op.ARow, op.ACol, rows, kc, mr);
        }
    }

    // C rows [rowStart, +rowCount) × columns [columnStart, columnEnd) from packed rows of A, packing B block by block.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyPackedRows(SgemmKernel kernel, float* packedA, int rowStart, int rowCount,
        int columnStart, int columnEnd, int k, in Operands op)
    {
        var (mr, nr) = SgemmMicroKernels.Tile(kernel);
        int paddedRows = (rowCount + mr - 1) / mr * mr;
        int bCapacity = SgemmPacking.BPanelStride(KC, nr) * ((Math.Min(NC, columnEnd - columnStart) + nr - 1) / nr);
        if (_packedB is null || _packedB.Length < bCapacity + 16) _packedB = GC.AllocateUninitializedArray<float>(
            bCapacity + 16, pinned: true);
        // Panels start on a cache line so no full-width load of B straddles two lines.
        float* packedB = (float*)(((nint)Unsafe.AsPointer(ref _packedB[0]) + 63) & ~(nint)63);
        float* edgeTile = stackalloc float[SgemmMicroKernels.MaxTile];
        for (int jc = columnStart; jc < columnEnd; jc += NC)
        {
            int nc = Math.Min(NC, columnEnd - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                bool overwrite = !op.Accumulate && pc == 0;
                SgemmPacking.PackB(packedB, op.B + pc * op.BRow + jc * op.BCol, op.BRow, op.BCol, kc, nc, nr);
                float* aBlock = packedA + (long)pc * paddedRows;
                int bPanelStride = SgemmPacking.BPanelStride(kc, nr);
                // A few A panels (L2) against every B panel (L1) in turn, then the next few.
                for (int ir0 = 0; ir0 < rowCount; ir0 += MCPanels * mr)
                {
                    int irEnd = Math.Min(rowCount, ir0 + MCPanels * mr);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        for (int ir = ir0; ir < irEnd; ir += mr)
                        {
                            float* cTile = op.C + (long)(rowStart + ir) * op.Ldc + jc + jr;
                            int tileRows = Math.Min(mr, rowCount - ir);
                            if (tileRows == mr && cols == nr)
                                SgemmMicroKernels.Run(kernel, aBlock + ir * kc, packedB + jr / nr * bPanelStride, kc,
                                    cTile, op.Ldc, overwrite);
                            else
                            {
                                // Partial tile: compute the whole padded tile aside, then fold in the valid part.
                                SgemmMicroKernels.Run(kernel, aBlock + ir * kc, packedB + jr / nr * bPanelStride, kc,
                                    edgeTile, nr, overwrite: true);
                                for (int i = 0; i < tileRows; i++)
                                    for (int j = 0; j < cols; j++)
                                        cTile[i * op.Ldc + j] = overwrite ? edgeTile[i * nr + j] : cTile[i * op.Ldc + j]
                                            + edgeTile[i * nr + j];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// <summary>Base pointers and strides of one product: op(A)(i,p) = A[i·ARow + p·ACol], op(B)(p,j) = B[p·BRow +
/// j·BCol].</summary>
internal readonly unsafe struct Operands(float* a, long aRow, long aCol, float* b, long bRow, long bCol, float* c,
    int ldc, bool accumulate)
{
    public readonly float* A = a, B = b, C = c;
    public readonly long ARow = aRow, ACol = aCol, BRow = bRow, BCol = bCol;
    public readonly int Ldc = ldc;
    public readonly bool Accumulate = accumulate;
}
