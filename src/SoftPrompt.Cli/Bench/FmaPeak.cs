using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Cli.Bench;

/// <summary>
/// The host's fp32 multiply-add peak, measured rather than looked up (hosts differ from day to day): each thread runs
/// twelve independent FMA chains on the widest vectors the CPU has, long enough to reach its steady clock. A step's
/// floor is its FLOPs over this rate.
/// </summary>
public static class FmaPeak
{
    public static int VectorBits => Avx512F.IsSupported ? 512 : Fma.IsSupported ? 256 : 128;

    public static double Gflops(int threads, double seconds = 0.5)
    {
        Chains(1 << 16); // JIT and warm-up
        long iterations = 1 << 22;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Chains(iterations));
        double elapsed = clock.Elapsed.TotalSeconds;
        // Scale the work to the wanted duration, then measure once more.
        iterations = Math.Max(1 << 16, (long)(iterations * seconds / Math.Max(elapsed, 1e-3)));
        clock.Restart();
        float sink = 0;
        var results = new float[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
            t => results[t] = Chains(iterations));
        elapsed = clock.Elapsed.TotalSeconds;
        foreach (var v in results) sink += v;
        if (float.IsNaN(sink)) Console.Error.WriteLine(); // keeps the chains' results alive
        return threads * iterations * 12.0 * (VectorBits / 32) * 2 / elapsed / 1e9;
    }

    private static float Chains(long iterations)
    {
        if (Avx512F.IsSupported)
        {
            var a = Vector512.Create(0.999f);
            var b = Vector512.Create(1e-7f);
            Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
                c8 = c0, c9 = c0, c10 = c0, c11 = c0;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Avx512F.FusedMultiplyAdd(c0, a, b); c1 = Avx512F.FusedMultiplyAdd(c1, a, b); c2 =
                    Avx512F.FusedMultiplyAdd(c2, a, b);
                c3 = Avx512F.FusedMultiplyAdd(c3, a, b); c4 = Avx512F.FusedMultiplyAdd(c4, a, b); c5 =
                    Avx512F.FusedMultiplyAdd(c5, a, b);
                c6 = Avx512F.FusedMultiplyAdd(c6, a, b); c7 = Avx512F.FusedMultiplyAdd(c7, a, b); c8 =
                    Avx512F.FusedMultiplyAdd(c8, a, b);
                c9 = Avx512F.FusedMultiplyAdd(c9, a, b); c10 = Avx512F.FusedMultiplyAdd(c10, a, b); c11 =
                    Avx512F.FusedMultiplyAdd(c11, a, b);
            }
            return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        if (Fma.IsSupported)
        {
            var a = Vector256.Create(0.999f);
            var b = Vector256.Create(1e-7f);
            Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0,
                c8 = c0, c9 = c0, c10 = c0, c11 = c0;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Fma.MultiplyAdd(c0, a, b); c1 = Fma.MultiplyAdd(c1, a, b); c2 = Fma.MultiplyAdd(c2, a, b); c3 =
                    Fma.MultiplyAdd(c3, a, b);
                c4 = Fma.MultiplyAdd(c4, a, b); c5 = Fma.MultiplyAdd(c5, a, b); c6 = Fma.MultiplyAdd(c6, a, b); c7 =
                    Fma.MultiplyAdd(c7, a, b);
                c8 = Fma.MultiplyAdd(c8, a, b); c9 = Fma.MultiplyAdd(c9, a, b); c10 = Fma.MultiplyAdd(c10, a, b); c11 =
                    Fma.MultiplyAdd(c11, a, b);
            }
            return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        float s = 1f;
        for (long i = 0; i < iterations * 12; i++) s = s * 0.999f + 1e-7f;
        return s;
    }
}
