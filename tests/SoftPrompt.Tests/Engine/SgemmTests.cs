using SoftPrompt.Engine;
using SoftPrompt.Engine.Kernels;
using Xunit;

namespace SoftPrompt.Tests.Engine;

[Collection("Sgemm kernel selection")] // tests switch the kernel (for their own thread only)
public unsafe class SgemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 7, 13, 5 }, { 33, 65, 129 }, { 130, 47, 300 }, { 8, 32, 256 }, { 3, 200, 64 }, { 257, 515, 520 },
        { 64, 1100, 33 }, { 600, 70, 700 },
    };

    // float64 reference with explicit strides: A(i,p), B(p,j) as the storage conventions say.
    private static double[] Reference(bool transA, bool transB, int m, int n, int k, float[] a, int lda, float[] b,
        int ldb)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                    sum += (double)(transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p]
                        : b[p * ldb + j]);
                c[i * n + j] = sum;
            }
        return c;
    }

    /// <summary>Values uniform in [-1, 1) from a fixed seed (the bf16 kernels' tests use them too).</summary>
    internal static float[] Random(int seed, int length)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    private static void CheckCase(bool transA, bool transB, int m, int n, int k, bool accumulate, int pad)
    {
        // Leading dimensions larger than the logical widths, to exercise the strides.
        int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
        var a = Random(1, (transA ? k : m) * lda);
        var b = Random(2, (transB ? n : k) * ldb);
        var c = Random(3, m * ldc);
        var before = (float[])c.Clone();
        fixed (float* pa = a, pb = b, pc = c)
            Sgemm.Multiply(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
        var expected = Reference(transA, transB, m, n, k, a, lda, b, ldb);
        double tolerance = 1e-5 * Math.Sqrt(Math.Max(k, 1)) * 4;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double want = expected[i * n + j] + (accumulate ? before[i * ldc + j] : 0);
                Assert.True(Math.Abs(c[i * ldc + j] - want) <= tolerance,
                    $"transA={transA} transB={transB} m={m} n={n} k={k}: C[{i},{j}] = {c[i * ldc + j]}, expected " +
                        $"{want}");
            }
            for (int j = n; j < ldc; j++) Assert.Equal(before[i * ldc + j], c[i * ldc + j]); // padding untouched
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void All_transpose_cases_match_float64_reference(int m, int n, int k)
    {
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                CheckCase(ta, tb, m, n, k, accumulate: false, pad: 0);
                CheckCase(ta, tb, m, n, k, accumulate: true, pad: 3);
            }
    }

    public static TheoryData<string> NarrowerKernels => new() { nameof(SgemmKernel.Avx2), nameof(SgemmKernel.Scalar) };

    [Theory]
    [MemberData(nameof(NarrowerKernels))]
    public void Fallback_kernels_match_float64_reference(string kernelName)
    {
        var kernel = Enum.Parse<SgemmKernel>(kernelName);
        if (!SgemmMicroKernels.IsSupported(kernel)) return; // nothing to check on a CPU without it
        var saved = Sgemm.Kernel;
        Sgemm.Kernel = kernel;
        try
        {
            foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 13, 5), (33, 65, 129), (130, 47, 300), (64, 300, 33) })
            {
                CheckCase(false, false, m, n, k, accumulate: false, pad: 0);
                CheckCase(false, true, m, n, k, accumulate: false, pad: 2);
                CheckCase(true, false, m, n, k, accumulate: true, pad: 0);
                CheckCase(true, true, m, n, k, accumulate: true, pad: 1);
            }
        }
        finally { Sgemm.Kernel = saved; }
    }

    [Fact]
    public void Few_rows_path_matches_float64_reference_on_wide_products()
    {
        // Decoding shapes: a handful of rows against a wide weight, split over threads by columns.
        foreach (int m in new[] { 1, 2, Sgemm.FewRows })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    CheckCase(ta, tb, m, 2100, 520, accumulate: m % 2 == 0, pad: 5);
    }

    [Fact]
    public void Deep_products_packed_in_depth_or_row_chunks_match_float64_reference()
    {
        // 300 rows × 8000 deep exceeds the packed-A budget (2²¹ floats), so the depth goes in two chunks.
        CheckCase(false, false, 300, 300, 8000, accumulate: false, pad: 0);
        CheckCase(true, true, 300, 200, 8000, accumulate: true, pad: 1);
        // An LM head's dX = G·W: 128 rows, a vocabulary deep, four depth chunks (the last one short).
        CheckCase(false, false, 128, 96, 50_257, accumulate: false, pad: 0);
        CheckCase(false, true, 128, 40, 50_257, accumulate: true, pad: 3);
        // Too many rows for even one KC-deep slice of all of them: the rows go in chunks instead.
        CheckCase(true, false, 9000, 40, 700, accumulate: false, pad: 0);
    }

    [Fact]
    public void Empty_depth_clears_or_keeps_c()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Sgemm.Multiply(false, false, 2, 2, 0, Array.Empty<float>(), Array.Empty<float>(), c, accumulate: true);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, c);
        Sgemm.Multiply(false, false, 2, 2, 0, Array.Empty<float>(), Array.Empty<float>(), c, accumulate: false);
        Assert.Equal(new float[4], c);
    }

    [Fact]
    public void Single_threaded_and_parallel_results_are_identical()
    {
        var a = Random(4, 96 * 300);
        var b = Random(5, 300 * 700);
        var one = new float[96 * 700];
        var two = new float[96 * 700];
        using (Parallelism.OnThisThread(1)) Sgemm.Multiply(false, false, 96, 700, 300, a, b, one, accumulate: false);
        using (Parallelism.OnThisThread(2)) Sgemm.Multiply(false, false, 96, 700, 300, a, b, two, accumulate: false);
        Assert.Equal(one, two);
    }

    [Fact]
    public void Concurrent_calls_inside_a_parallel_region_match_float64_reference()
    {
        // Each body runs its own product: the inner calls go serial (nested region) while the two bodies may run
        // at once, so both share-packing work claiming and the shared packing buffer are exercised.
        using var scope = Parallelism.OnThisThread(2);
        Parallelism.For(2, t => CheckCase(t == 1, t == 0, 150, 700, 90 + t, accumulate: t == 1, pad: t));
    }

    [Fact]
    public void Parallel_for_runs_every_index_once_and_nested_calls_serially()
    {
        var hits = new int[37];
        int nestedThreads = 0;
        Parallelism.For(37, i =>
        {
            Interlocked.Increment(ref hits[i]);
            int outer = Environment.CurrentManagedThreadId;
            Parallelism.For(4, _ => { if (Environment.CurrentManagedThreadId != outer) Interlocked.Increment(
                ref nestedThreads); });
        });
        Assert.All(hits, h => Assert.Equal(1, h));
        Assert.Equal(0, nestedThreads);
    }
}
