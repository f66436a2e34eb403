using SoftPrompt.Engine;
using SoftPrompt.Engine.Kernels;
using Xunit;

namespace SoftPrompt.Tests.Engine;

/// <summary>
/// The int8 product (<see cref="Int8Gemm"/>) against a float64 sum of the same quantized values: each row of A
/// quantized to 8 bits with its own scale, W as <see cref="Int8Weight"/> holds it. The VNNI kernels and the plain
/// integer loop give those sums exactly; every edge: rows past a 4-row tile, outputs past a 3- or 8-output tile and
/// past the 24-row padding, k past and short of a 32-byte step, two threads.
/// </summary>
public class Int8GemmTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 1, 50, 768 }, { 3, 7, 33 }, { 4, 24, 32 }, { 5, 25, 31 }, { 9, 100, 100 }, { 17, 49, 300 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Products_equal_the_float64_sums_of_the_quantized_values(int m, int n, int k)
    {
        Assert.True(Int8Gemm.UseVnni, "these machines have AVX-VNNI (CI too): the kernels must run");
        var a = Random(1, m * k);
        var w = Random(2, n * k);
        var weight = Int8Weight.Quantize(n, k, (row, into) => w.AsSpan(row * k, k).CopyTo(into));
        var expected = QuantizedProduct(a, weight, m);
        foreach (bool vnni in new[] { true, false })
            foreach (int threads in new[] { 1, 2 })
            {
                var c = new float[m * n];
                bool before = Int8Gemm.UseVnni;
                Int8Gemm.UseVnni = vnni; // this thread only
                try
                {
                    using (Parallelism.OnThisThread(threads)) Int8Gemm.Multiply(m, a, k, weight, c, n);
                }
                finally { Int8Gemm.UseVnni = before; }
                for (int i = 0; i < c.Length; i++)
                    Assert.True(Math.Abs(c[i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i])),
                        $"vnni {vnni}, {threads} threads, [{i / n}, {i % n}]: {c[i]} against {expected[i]}");
            }
    }

    [Fact]
    public void Two_threads_split_a_big_product_into_the_same_values()
    {
        int m = 6, n = 2000, k = 256; // past the threshold where the outputs are shared out
        var a = Random(3, m * k);
        var w = Random(4, n * k);
        var weight = Int8Weight.Quantize(n, k, (row, into) => w.AsSpan(row * k, k).CopyTo(into));
        var one = new float[m * n];
        var two = new float[m * n];
        using (Parallelism.OnThisThread(1)) Int8Gemm.Multiply(m, a, k, weight, one, n);
        using (Parallelism.OnThisThread(2)) Int8Gemm.Multiply(m, a, k, weight, two, n);
        Assert.Equal(one, two);
    }

    [Fact]
    public void The_int8_product_stays_within_2_percent_of_the_float32_one()
    {
        int m = 8, n = 96, k = 768;
        var a = Random(5, m * k);
        var w = Random(6, n * k);
        var weight = Int8Weight.Quantize(n, k, (row, into) => w.AsSpan(row * k, k).CopyTo(into));
        var c = new float[m * n];
        Int8Gemm.Multiply(m, a, k, weight, c, n);
        double difference = 0, size = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double exact = 0;
                for (int p = 0; p < k; p++) exact += (double)a[i * k + p] * w[j * k + p];
                difference += Math.Pow(c[i * n + j] - exact, 2);
                size += exact * exact;
            }
        // Two roundings to 8 bits of uniform values: about 0.5 % of the product's size; a wrong offset, scale or
        // layout is off by the whole value.
        Assert.InRange(Math.Sqrt(difference / size), 1e-5, 0.02);
    }

    [Fact]
    public void Quantized_weights_read_back_within_half_a_step_and_refuse_values_that_are_not_finite()
    {
        int n = 5, k = 40;
        var w = Random(7, n * k);
        for (int p = 0; p < k; p++) w[2 * k + p] = 0; // an all-zero row
        var weight = Int8Weight.Quantize(n, k, (row, into) => w.AsSpan(row * k, k).CopyTo(into));
        var back = new float[n * k];
        weight.WidenTo(0, back);
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++)
                Assert.True(Math.Abs(back[j * k + p] - w[j * k + p]) <= weight.Scales[j] / 2 + 1e-7,
                    $"[{j}, {p}]: {back[j * k + p]} against {w[j * k + p]}");
        Assert.All(back.AsSpan(2 * k, k).ToArray(), v => Assert.Equal(0f, v));
        var part = new float[7];
        weight.WidenTo(k - 3, part); // across a row's end
        Assert.Equal(back.AsSpan(k - 3, 7).ToArray(), part);
        w[3] = float.NaN;
        var error = Assert.Throws<ArgumentException>(
            () => Int8Weight.Quantize(n, k, (row, into) => w.AsSpan(row * k, k).CopyTo(into)));
        Assert.Contains("Row 0", error.Message);
    }

    // C[r, j] = s[r]·scale[j]·Σ q_a·q_w in float64, A quantized per row as the kernels do.
    private static double[] QuantizedProduct(float[] a, Int8Weight w, int m)
    {
        int n = w.Rows, k = w.Cols;
        var c = new double[m * n];
        for (int r = 0; r < m; r++)
        {
            float largest = 0;
            for (int p = 0; p < k; p++) largest = Math.Max(largest, Math.Abs(a[r * k + p]));
            float scale = largest > 0 ? largest / 127f : 1f, inverse = 1f / scale;
            var q = new int[k];
            for (int p = 0; p < k; p++)
                q[p] = Math.Clamp((int)MathF.Round(a[r * k + p] * inverse, MidpointRounding.ToEven), -127, 127);
            for (int j = 0; j < n; j++)
            {
                long sum = 0;
                for (int p = 0; p < k; p++) sum += q[p] * w.Values[j * w.PaddedCols + p];
                c[r * n + j] = (double)scale * w.Scales[j] * sum;
            }
        }
        return c;
    }

    private static float[] Random(int seed, int count)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }
}
