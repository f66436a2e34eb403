using System.Diagnostics;

namespace SoftPrompt.Engine.Kernels;

/// <summary>Measures <see cref="Sgemm"/> throughput for one shape (used by `softprompt bench`).</summary>
public static class SgemmBenchmark
{
    /// <summary>Median GFLOP/s over <paramref name="repeats"/> timed runs, after warming up long enough for tiered
    /// compilation to settle (at least 0.5 s and 3 calls) so the first timed runs see optimised code.</summary>
    public static double Gflops(int m, int n, int k, bool transA, bool transB, int repeats)
    {
        var rng = new Random(1);
        var a = new float[(long)m * k];
        var b = new float[(long)k * n];
        var c = new float[(long)m * n];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
        var warmUp = Stopwatch.StartNew();
        for (int call = 0; call < 3 || warmUp.Elapsed.TotalSeconds < 0.5; call++)
            Sgemm.Multiply(transA, transB, m, n, k, a, b, c, accumulate: false);
        var seconds = new List<double>();
        for (int r = 0; r < Math.Max(1, repeats); r++)
        {
            var sw = Stopwatch.StartNew();
            Sgemm.Multiply(transA, transB, m, n, k, a, b, c, accumulate: false);
            seconds.Add(sw.Elapsed.TotalSeconds);
        }
        seconds.Sort();
        return 2.0 * m * n * k / seconds[seconds.Count / 2] / 1e9;
    }
}
