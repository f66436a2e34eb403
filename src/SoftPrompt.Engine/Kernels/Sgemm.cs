namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// Single-precision matrix multiply, row-major: C[m,n] (+)= op(A)[m,k] · op(B)[k,n], where op(A) is A or Aᵀ.
/// A is stored [m,k] (lda ≥ k) or, transposed, [k,m] (lda ≥ m); likewise B is [k,n] or, transposed, [n,k].
/// PLACEHOLDER implementation (correct, not fast); the tuned kernel replaces the body, keeping this signature.
/// </summary>
public static unsafe class Sgemm
{
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        float* a, int lda, float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            float* ci = c + (long)i * ldc;
            if (!accumulate) new Span<float>(ci, n).Clear();
            for (int p = 0; p < k; p++)
            {
                float aip = transA ? a[(long)p * lda + i] : a[(long)i * lda + p];
                if (aip == 0f) continue;
                if (!transB)
                {
                    float* bp = b + (long)p * ldb;
                    for (int j = 0; j < n; j++) ci[j] += aip * bp[j];
                }
                else
                {
                    for (int j = 0; j < n; j++) ci[j] += aip * b[(long)j * ldb + p];
                }
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
