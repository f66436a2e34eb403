using SoftPrompt.Engine;
using SoftPrompt.Engine.IO;
using SoftPrompt.Engine.Kernels;
using Xunit;

namespace SoftPrompt.Tests.Engine;

/// <summary>
/// The bfloat16 kernels (machine code from tools/make_bf16_kernels.py) against a float64 sum of the same bfloat16
/// values: A rounded to bfloat16 as the packing does, B as stored. Every edge: rows past a 14- or 4-row panel, columns
/// past a 32-column panel, an odd k (the last pair half empty), k past one block of pairs, and accumulation.
/// </summary>
public unsafe class Bf16GemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 3, 33, 7 }, { 4, 64, 256 }, { 5, 31, 255 }, { 14, 32, 2 }, { 15, 65, 257 }, { 29, 100, 513 },
        { 64, 96, 768 }, { 150, 40, 300 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Products_equal_the_float64_sums_of_the_bf16_values(int m, int n, int k)
    {
        Assert.True(Bf16MicroKernels.IsSupported, "these machines have AVX512_BF16 (CI too); the kernels must run");
        var a = Random(1, m * k);
        var w = RoundedToBf16(Random(2, n * k)); // W [n, k]: the forward operand packs Wᵀ
        var packed = Bf16Panels.Pack(w, k, n, kStride: 1, nStride: k);
        foreach (bool accumulate in new[] { false, true })
        {
            var c = Random(3, m * n);
            var start = (float[])c.Clone();
            fixed (float* pa = a) fixed (float* pc = c) Bf16Gemm.Multiply(m, pa, k, packed, pc, n, accumulate);
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double sum = accumulate ? start[i * n + j] : 0, size = Math.Abs(sum);
                    for (int p = 0; p < k; p++)
                    {
                        double term = (double)Bf16(a[i * k + p]) * ReducedPrecision.Bf16ToSingle(w[j * k + p]);
                        sum += term;
                        size += Math.Abs(term);
                    }
                    // float32 accumulation of k terms: a few units of its last place of the terms' size
                    Assert.True(Math.Abs(c[i * n + j] - sum) <= 1e-6 * size + 1e-30,
                        $"C[{i},{j}] = {c[i * n + j]}, float64 sum {sum} (m={m}, n={n}, k={k}, add={accumulate})");
                }
        }
    }

    [Fact]
    public void Packed_operands_hold_every_element_at_its_place_both_ways()
    {
        int rows = 37, cols = 259;
        var w = RoundedToBf16(Random(4, rows * cols));
        var forward = Bf16Panels.Pack(w, k: cols, n: rows, kStride: 1, nStride: cols);      // (p, j) = W[j, p]
        var backward = Bf16Panels.Pack(w, k: rows, n: cols, kStride: cols, nStride: 1);     // (p, j) = W[p, j]
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                float value = ReducedPrecision.Bf16ToSingle(w[r * cols + c]);
                Assert.Equal(value, forward[c, r]);
                Assert.Equal(value, backward[r, c]);
            }
    }

    [Fact]
    public void A_packed_weight_widens_back_to_its_values_over_any_range_of_rows()
    {
        // 259 columns: an odd k (the last pair half padding) over three blocks of pairs; ranges that start and end
        // inside rows, span several, or sit inside one
        int rows = 37, cols = 259;
        var w = RoundedToBf16(Random(9, rows * cols));
        var weight = new Bf16Weight(Bf16Panels.Pack(w, k: cols, n: rows, kStride: 1, nStride: cols));
        var expected = w.Select(ReducedPrecision.Bf16ToSingle).ToArray();
        foreach (var (start, length) in new[] { (0, rows * cols), (5, 2 * cols + 7), (cols, cols), (3 * cols + 1, 9),
            (rows * cols - 4, 4) })
        {
            var values = new float[length];
            weight.WidenTo(start, values);
            Assert.Equal(expected.AsSpan(start, length).ToArray(), values);
        }
    }

    [Theory]
    [InlineData(37, 259)]
    [InlineData(64, 256)]
    [InlineData(300, 33)]
    public void The_input_gradient_operand_built_from_the_forward_one_is_the_directly_packed_one(int rows, int cols)
    {
        var w = RoundedToBf16(Random(7, rows * cols));
        var forward = Bf16Panels.Pack(w, k: cols, n: rows, kStride: 1, nStride: cols);
        var direct = Bf16Panels.Pack(w, k: rows, n: cols, kStride: cols, nStride: 1);
        // built into a buffer left full of NaNs by a larger operand: padding must come back zero, or NaN·0 would
        // reach the products
        var stale = Bf16Panels.Pack(Enumerable.Repeat((ushort)0x7FC0, 400 * 300).ToArray(), 300, 400, 1, 300);
        foreach (var reuse in new[] { null, stale })
        {
            var rebuilt = forward.TransposedForInputGradient(reuse);
            Assert.Equal((direct.K, direct.N), (rebuilt.K, rebuilt.N));
            for (int p = 0; p < rows; p++)
                for (int j = 0; j < cols; j++) Assert.Equal(direct[p, j], rebuilt[p, j]);
            int n = 5;
            var dy = Random(8, n * rows);
            float[] expected = new float[n * cols], actual = new float[n * cols];
            SoftPrompt.Engine.Ops.Linear.InputGradient(expected, dy, direct, n);
            SoftPrompt.Engine.Ops.Linear.InputGradient(actual, dy, rebuilt, n);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void An_input_gradient_through_the_packed_weight_matches_the_float32_product_of_the_rounded_values()
    {
        int n = 20, outF = 48, inF = 70;
        var w = RoundedToBf16(Random(5, outF * inF));
        var dy = Random(6, n * outF).Select(v => ReducedPrecision.Bf16ToSingle(ReducedPrecision.RoundToBf16(v)))
            .ToArray();
        var wide = new float[w.Length];
        ReducedPrecision.Bf16ToSingle(w, wide);
        var expected = new float[n * inF];
        var actual = new float[n * inF];
        SoftPrompt.Engine.Ops.Linear.Backward(expected, default, default, dy, default, wide, n, inF, outF);
        SoftPrompt.Engine.Ops.Linear.InputGradient(actual, dy,
            Bf16Panels.Pack(w, k: outF, n: inF, kStride: inF, nStride: 1), n);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-4f);
    }

    private static float Bf16(float value) => ReducedPrecision.Bf16ToSingle(ReducedPrecision.RoundToBf16(value));

    private static ushort[] RoundedToBf16(float[] values)
    {
        var half = new ushort[values.Length];
        ReducedPrecision.SingleToBf16(values, half);
        return half;
    }

    private static float[] Random(int seed, int length) => SgemmTests.Random(seed, length);
}
