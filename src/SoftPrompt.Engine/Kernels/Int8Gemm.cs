using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SoftPrompt.Engine.Kernels;

/// <summary>
/// C[m, n] = A[m, k] · Wᵀ for a frozen <see cref="Int8Weight"/> W [n, k] (the forward product of a linear layer),
/// with A float32 quantized per row as it is packed: a[r, k] ≈ s[r]·(u[r, k] − 128), u an unsigned byte, s = the
/// row's largest magnitude / 127 (dynamic, per token). The integer sums Σₖ u·q are exact in int32 (VNNI's
/// <c>vpdpbusd</c>: 32 byte products a 256-bit instruction), and
/// C[r, j] = s[r]·scale[j]·(Σₖ u[r, k]·q[j, k] − 128·Σₖ q[j, k]).
/// <para>Tiles: 4 rows × 3 outputs (12 accumulators and the 4 rows' bytes fill the 16 registers VEX-encoded VNNI
/// can name; the weight's bytes are read from memory by the instruction itself), and 1 row × 8 outputs for the rows
/// past a multiple of 4 and for decoding (one row: the weight streams from memory once). The threads share out the
/// outputs.</para>
/// </summary>
internal static unsafe class Int8Gemm
{
    // multiply-adds below which one thread is faster than two
    private const long ParallelThreshold = 1 << 18;
    private const int Offset = 128;

    [ThreadStatic] private static byte[]? _packedA;
    [ThreadStatic] private static float[]? _rowScales;
    [ThreadStatic] private static bool? _vnniOnThisThread;

    /// <summary>Whether the VNNI kernels run (the CPU has AVX-VNNI); tests turn them off for the calling thread to
    /// check them against the plain integer loop, which gives the same sums.</summary>
    public static bool UseVnni
    {
        get => _vnniOnThisThread ?? AvxVnni.IsSupported;
        set => _vnniOnThisThread = value && AvxVnni.IsSupported;
    }

    public static void Multiply(int m, ReadOnlySpan<float> a, int lda, Int8Weight w, Span<float> c, int ldc)
    {
        int n = w.Rows, k = w.Cols, kp = w.PaddedCols;
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), $"Negative row count {m}.");
        if (m == 0) return;
        if (a.Length < (long)(m - 1) * lda + k || c.Length < (long)(m - 1) * ldc + n)
            throw new ArgumentException($"Int8Gemm: {a.Length} inputs or {c.Length} outputs are too few for " +
                $"[{m}, {k}] · [{n}, {k}]ᵀ.");
        var packed = _packedA is { } held && held.Length >= m * kp ? held : _packedA = new byte[Math.Max(m * kp, 1024)];
        var rowScales = _rowScales is { } scales && scales.Length >= m ? scales
            : _rowScales = new float[Math.Max(m, 64)];
        for (int r = 0; r < m; r++) rowScales[r] = QuantizeRow(a.Slice(r * lda, k), packed.AsSpan(r * kp, kp));
        bool vnni = UseVnni;
        int tiles = w.PaddedRows / Int8Weight.RowStep;
        int threads = (long)m * n * k < ParallelThreshold ? 1 : Math.Min(Parallelism.Threads, tiles);
        fixed (byte* pa = packed) fixed (sbyte* pw = w.Values) fixed (float* pc = c)
        {
            byte* aRows = pa;
            sbyte* wRows = pw;
            float* cRows = pc;
            Parallelism.For(threads, t =>
            {
                int first = (int)((long)tiles * t / threads) * Int8Weight.RowStep;
                int last = Math.Min(n, (int)((long)tiles * (t + 1) / threads) * Int8Weight.RowStep);
                if (first >= last) return;
                if (vnni) MultiplyVnni(m, aRows, wRows, kp, first, last, w, rowScales, cRows, ldc);
                else MultiplyPlain(m, aRows, wRows, kp, first, last, w, rowScales, cRows, ldc);
            });
        }
    }

    // a ≈ s·(u − 128): returns s; pads past the row's length with the offset (zero).
    private static float QuantizeRow(ReadOnlySpan<float> row, Span<byte> into)
    {
        float scale = Int8Weight.ScaleFor(Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row)));
        float inverse = 1f / scale;
        for (int k = 0; k < row.Length; k++) into[k] = (byte)(Int8Weight.Rounded(row[k] * inverse) + Offset);
        into[row.Length..].Fill(Offset);
        return scale;
    }

    private static void Store(float* c, int ldc, int r, int j, int sum, float rowScale, Int8Weight w) =>
        c[(long)r * ldc + j] = rowScale * w.Scales[j] * (sum - Offset * w.RowSums[j]);

    // The same integer sums without VNNI: the reference the vector kernels are tested against.
    private static void MultiplyPlain(int m, byte* a, sbyte* w, int kp, int first, int last, Int8Weight weight,
        float[] rowScales, float* c, int ldc)
    {
        for (int r = 0; r < m; r++)
            for (int j = first; j < last; j++)
            {
                byte* ar = a + (long)r * kp;
                sbyte* wj = w + (long)j * kp;
                int sum = 0;
                for (int k = 0; k < kp; k++) sum += ar[k] * wj[k];
                Store(c, ldc, r, j, sum, rowScales[r], weight);
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyVnni(int m, byte* a, sbyte* w, int kp, int first, int last, Int8Weight weight,
        float[] rowScales, float* c, int ldc)
    {
        int* sums = stackalloc int[12];
        int fullRows = m / 4 * 4;
        // Outputs in blocks small enough that their weight rows stay in L2 while every row of A passes over them.
        int block = Math.Max(Int8Weight.RowStep, 256 * 1024 / kp / Int8Weight.RowStep * Int8Weight.RowStep);
        for (int j0 = first; j0 < last; j0 += block)
        {
            int j1 = Math.Min(last, j0 + block);
            for (int r = 0; r < fullRows; r += 4)
                for (int j = j0; j < j1; j += 3)
                {
                    FourRowsThreeOutputs(a + (long)r * kp, w + (long)j * kp, kp, sums);
                    for (int i = 0; i < 4; i++)
                        for (int o = 0; o < 3 && j + o < j1; o++)
                            Store(c, ldc, r + i, j + o, sums[i * 3 + o], rowScales[r + i], weight);
                }
            for (int r = fullRows; r < m; r++)
                for (int j = j0; j < j1; j += 8)
                {
                    OneRowEightOutputs(a + (long)r * kp, w + (long)j * kp, kp, sums);
                    for (int o = 0; o < 8 && j + o < j1; o++)
                        Store(c, ldc, r, j + o, sums[o], rowScales[r], weight);
                }
        }
    }

    // sums[i·3 + o] = Σₖ a[i, k]·w[o, k] for 4 rows of A (stride kp) and 3 weight rows (stride kp). The weight rows
    // past the weight's end are its zero padding (rows are padded to a multiple of 24).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FourRowsThreeOutputs(byte* a, sbyte* w, int kp, int* sums)
    {
        Vector256<int> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector256<int> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        sbyte* w0 = w, w1 = w + kp, w2 = w + 2 * kp;
        for (int k = 0; k < kp; k += Int8Weight.KStep)
        {
            var a0 = Avx.LoadVector256(a + k);
            var a1 = Avx.LoadVector256(a + kp + k);
            var a2 = Avx.LoadVector256(a + 2 * kp + k);
            var a3 = Avx.LoadVector256(a + 3 * kp + k);
            var b0 = Avx.LoadVector256(w0 + k);
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, a0, b0);
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, a1, b0);
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, a2, b0);
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, a3, b0);
            var b1 = Avx.LoadVector256(w1 + k);
            c01 = AvxVnni.MultiplyWideningAndAdd(c01, a0, b1);
            c11 = AvxVnni.MultiplyWideningAndAdd(c11, a1, b1);
            c21 = AvxVnni.MultiplyWideningAndAdd(c21, a2, b1);
            c31 = AvxVnni.MultiplyWideningAndAdd(c31, a3, b1);
            var b2 = Avx.LoadVector256(w2 + k);
            c02 = AvxVnni.MultiplyWideningAndAdd(c02, a0, b2);
            c12 = AvxVnni.MultiplyWideningAndAdd(c12, a1, b2);
            c22 = AvxVnni.MultiplyWideningAndAdd(c22, a2, b2);
            c32 = AvxVnni.MultiplyWideningAndAdd(c32, a3, b2);
        }
        sums[0] = Vector256.Sum(c00); sums[1] = Vector256.Sum(c01); sums[2] = Vector256.Sum(c02);
        sums[3] = Vector256.Sum(c10); sums[4] = Vector256.Sum(c11); sums[5] = Vector256.Sum(c12);
        sums[6] = Vector256.Sum(c20); sums[7] = Vector256.Sum(c21); sums[8] = Vector256.Sum(c22);
        sums[9] = Vector256.Sum(c30); sums[10] = Vector256.Sum(c31); sums[11] = Vector256.Sum(c32);
    }

    // sums[o] = Σₖ a[k]·w[o, k] for one row of A and 8 weight rows (stride kp).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OneRowEightOutputs(byte* a, sbyte* w, int kp, int* sums)
    {
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector256<int> c4 = default, c5 = default, c6 = default, c7 = default;
        for (int k = 0; k < kp; k += Int8Weight.KStep)
        {
            var x = Avx.LoadVector256(a + k);
            c0 = AvxVnni.MultiplyWideningAndAdd(c0, x, Avx.LoadVector256(w + k));
            c1 = AvxVnni.MultiplyWideningAndAdd(c1, x, Avx.LoadVector256(w + kp + k));
            c2 = AvxVnni.MultiplyWideningAndAdd(c2, x, Avx.LoadVector256(w + 2 * kp + k));
            c3 = AvxVnni.MultiplyWideningAndAdd(c3, x, Avx.LoadVector256(w + 3 * kp + k));
            c4 = AvxVnni.MultiplyWideningAndAdd(c4, x, Avx.LoadVector256(w + 4 * kp + k));
            c5 = AvxVnni.MultiplyWideningAndAdd(c5, x, Avx.LoadVector256(w + 5 * kp + k));
            c6 = AvxVnni.MultiplyWideningAndAdd(c6, x, Avx.LoadVector256(w + 6 * kp + k));
            c7 = AvxVnni.MultiplyWideningAndAdd(c7, x, Avx.LoadVector256(w + 7 * kp + k));
        }
        sums[0] = Vector256.Sum(c0); sums[1] = Vector256.Sum(c1); sums[2] = Vector256.Sum(c2);
        sums[3] = Vector256.Sum(c3); sums[4] = Vector256.Sum(c4); sums[5] = Vector256.Sum(c5);
        sums[6] = Vector256.Sum(c6); sums[7] = Vector256.Sum(c7);
    }
}
