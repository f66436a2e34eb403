using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// C[m,n] (+)= bf16(A)[m,k] · B[k,n] with B a frozen bfloat16 operand packed once (<see cref="Bf16Panels"/>) and A
/// float32, rounded to bfloat16 (nearest, ties to even) as it is packed; products are summed in float32. Twice the
/// multiply-adds per instruction of the float32 kernels, at bfloat16's precision for A (8 bits of mantissa), which
/// is what PyTorch's bf16 autocast does too.
/// <para>Blocked as <see cref="Sgemm"/>: A is packed once per call into panels of 14 rows (4 for a product of at most
/// 4 rows) cut in the same blocks of k as B; the threads share out B's column panels, and each walks its panels block
/// by block, every A panel sweeping a B panel while that sits in L1.</para>
/// </summary>
internal static unsafe class Bf16Gemm
{
    // multiply-adds below which one thread is faster than two
    private const long ParallelThreshold = 1 << 21;

    [ThreadStatic] private static uint[]? _packedA;
    [ThreadStatic] private static ushort[]? _rowInBf16;
    [ThreadStatic] private static bool? _enabledOnThisThread;

    /// <summary>Whether products through bfloat16 weights run here (the CPU has AVX512_BF16), rather than on a
    /// float32 copy widened for each product. Tests turn it off for the calling thread to check the exact
    /// path.</summary>
    public static bool Enabled
    {
        get => _enabledOnThisThread ?? Bf16MicroKernels.IsSupported;
        set => _enabledOnThisThread = value && Bf16MicroKernels.IsSupported;
    }

    public static void Multiply(int m, float* a, int lda, Bf16Panels b, float* c, int ldc, bool accumulate)
    {
        int n = b.N, k = b.K;
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), $"Negative row count {m}.");
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) new Span<float>(c + (long)i * ldc, n).Clear();
            return;
        }
        int mr = m <= Bf16MicroKernels.FewRows ? Bf16MicroKernels.FewRows : Bf16MicroKernels.Rows;
        int paddedRows = (m + mr - 1) / mr * mr;
        uint* packedA = PackA(m, a, lda, k, mr, paddedRows, b);
        int threads = (long)m * n * k < ParallelThreshold ? 1 : Math.Min(Parallelism.Threads, b.Panels);
        Parallelism.For(threads, t =>
        {
            int first = (int)((long)b.Panels * t / threads), last = (int)((long)b.Panels * (t + 1) / threads);
            MultiplyPanels(m, mr, paddedRows, packedA, b, first, last, c, ldc, accumulate);
        });
    }

    // Columns panels [first, last) of C, block of k by block of k.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyPanels(int m, int mr, int paddedRows, uint* packedA, Bf16Panels b, int first,
        int last, float* c, int ldc, bool accumulate)
    {
        const int Nr = Bf16MicroKernels.Columns;
        float* edgeTile = stackalloc float[Bf16MicroKernels.Rows * Nr];
        for (int block = 0; block < b.Blocks; block++)
        {
            int steps = b.Steps(block);
            bool add = accumulate || block > 0;
            uint* aBlock = packedA + (long)block * Bf16Panels.BlockPairs * paddedRows;
            for (int panel = first; panel < last; panel++)
            {
                uint* bPanel = b.Panel(block, panel);
                int cols = Math.Min(Nr, b.N - panel * Nr);
                for (int row = 0; row < m; row += mr)
                {
                    uint* aPanel = aBlock + (long)row * steps;
                    float* cTile = c + (long)row * ldc + panel * Nr;
                    int rows = Math.Min(mr, m - row);
                    if (rows == mr && cols == Nr)
                    {
                        Bf16MicroKernels.Run(mr, aPanel, bPanel, steps, cTile, ldc, add);
                        continue;
                    }
                    // Partial tile: the whole padded tile aside, then its valid part folded in.
                    Bf16MicroKernels.Run(mr, aPanel, bPanel, steps, edgeTile, Nr, accumulate: false);
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < cols; j++)
                            cTile[(long)i * ldc + j] = add ? cTile[(long)i * ldc + j] + edgeTile[i * Nr + j]
                                : edgeTile[i * Nr + j];
                }
            }
        }
    }

    // A's rows as bfloat16 pairs, in blocks of k matching B's; inside a block, panels of mr rows, each its steps of
    // mr words (row i's pair of the step). Rows past m and the pair past an odd k are zero.
    private static uint* PackA(int m, float* a, int lda, int k, int mr, int paddedRows, Bf16Panels b)
    {
        int kPairs = b.KPairs;
        long words = (long)paddedRows * kPairs;
        if (_packedA is null || _packedA.Length < words)
            _packedA = GC.AllocateUninitializedArray<uint>((int)Math.Max(words, 1 << 16), pinned: true);
        uint* packed = (uint*)Unsafe.AsPointer(ref _packedA[0]); // pinned: the address is stable
        int rowPanels = paddedRows / mr;
        int threads = (long)m * k < 1 << 16 ? 1 : Math.Min(Parallelism.Threads, rowPanels);
        Parallelism.For(threads, t =>
        {
            int firstPanel = (int)((long)rowPanels * t / threads);
            int lastPanel = (int)((long)rowPanels * (t + 1) / threads);
            for (int i = firstPanel * mr; i < lastPanel * mr; i++) PackRow(i < m ? a + (long)i * lda : null, i, k, mr,
                paddedRows, b, packed);
        });
        return packed;
    }

    private static void PackRow(float* row, int i, int k, int mr, int paddedRows, Bf16Panels b, uint* packed)
    {
        int kPairs = b.KPairs;
        if (_rowInBf16 is null || _rowInBf16.Length < 2 * kPairs) _rowInBf16 = new ushort[2 * kPairs + 64];
        var halves = _rowInBf16.AsSpan(0, 2 * kPairs);
        if (row is null) halves.Clear();
        else
        {
            IO.ReducedPrecision.SingleToBf16(new ReadOnlySpan<float>(row, k), halves[..k]);
            if (k % 2 == 1) halves[k] = 0;
        }
        ReadOnlySpan<uint> pairs = MemoryMarshal.Cast<ushort, uint>(halves);
        int panel = i / mr, inPanel = i % mr;
        for (int block = 0; block < b.Blocks; block++)
        {
            int steps = b.Steps(block), firstPair = block * Bf16Panels.BlockPairs;
            uint* to = packed + (long)firstPair * paddedRows + (long)panel * mr * steps + inPanel;
            for (int s = 0; s < steps; s++) to[s * mr] = pairs[firstPair + s];
        }
    }
}
