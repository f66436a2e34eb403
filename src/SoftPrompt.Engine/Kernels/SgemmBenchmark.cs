using System.Diagnostics;

namespace SoftPrompt.Engine.Kernels;

/// <summary>Measures <see cref="Sgemm"/> and <see cref="Bf16Gemm"/> throughput for one shape (used by `softprompt
/// bench`).</summary>
public static class SgemmBenchmark
{
    /// <summary>Median GFLOP/s of the float32 product over <paramref name="repeats"/> timed runs.</summary>
    public static double Gflops(int m, int n, int k, bool transA, bool transB, int repeats)
    {
        var a = Random(1, (long)m * k);
        var b = Random(2, (long)k * n);
        var c = new float[(long)m * n];
        return Median(m, n, k, repeats, () => Sgemm.Multiply(transA, transB, m, n, k, a, b, c, accumulate: false));
    }

    /// <summary>Median GFLOP/s of x·Wᵀ through a bfloat16 weight W [n, k] in the bfloat16 kernels (x [m, k] rounded
    /// as it is packed; W packed once, before timing, as a frozen weight is); NaN where the CPU lacks them.</summary>
    public static unsafe double Bf16Gflops(int m, int n, int k, int repeats)
    {
        if (!Bf16Gemm.Enabled) return double.NaN;
        var a = Random(1, (long)m * k);
        var w = new ushort[(long)n * k];
        IO.ReducedPrecision.SingleToBf16(Random(2, w.Length), w);
        var packed = Bf16Panels.Pack(w, k, n, kStride: 1, nStride: k);
        var c = new float[(long)m * n];
        return Median(m, n, k, repeats, () =>
        {
            fixed (float* pa = a) fixed (float* pc = c) Bf16Gemm.Multiply(m, pa, k, packed, pc, n, accumulate: false);
        });
    }

    // After warming up long enough for tiered compilation to settle (at least 0.5 s and 3 calls), so the timed runs
    // see optimised code.
    private static double Median(int m, int n, int k, int repeats, Action product)
    {
        var warmUp = Stopwatch.StartNew();
        for (int call = 0; call < 3 || warmUp.Elapsed.TotalSeconds < 0.5; call++) product();
        var seconds = new List<double>();
        for (int r = 0; r < Math.Max(1, repeats); r++)
        {
            var sw = Stopwatch.StartNew();
            product();
            seconds.Add(sw.Elapsed.TotalSeconds);
        }
        seconds.Sort();
        return 2.0 * m * n * k / seconds[seconds.Count / 2] / 1e9;
    }

    private static float[] Random(int seed, long length)
    {
        var rng = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++) values[i] = (float)rng.NextDouble() - 0.5f;
        return values;
    }
}
