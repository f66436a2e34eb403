using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Ops;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class RopeTests
{
    // Pair i of each head turns by pos·theta^(-2i/d); the pair is (2i, 2i+1) interleaved or (i, i+d/2) rotate-half.
    private static double[] Reference(Tensor x, int heads, int[] positions, RopeStyle style, double theta)
    {
        int width = x.Cols, d = width / heads, half = d / 2;
        var y = new double[x.Length];
        for (int r = 0; r < positions.Length; r++)
        for (int h = 0; h < heads; h++)
        for (int i = 0; i < half; i++)
        {
            int baseIndex = r * width + h * d;
            int first = baseIndex + (style == RopeStyle.Interleaved ? 2 * i : i);
            int second = baseIndex + (style == RopeStyle.Interleaved ? 2 * i + 1 : i + half);
            double angle = positions[r] * Math.Pow(theta, -2.0 * i / d);
            double a = x[first], b = x[second];
            y[first] = a * Math.Cos(angle) - b * Math.Sin(angle);
            y[second] = a * Math.Sin(angle) + b * Math.Cos(angle);
        }
        return y;
    }

    private static int[] Positions(int batch, int T, params int[] offsets)
    {
        var positions = new int[batch * T];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < T; t++) positions[b * T + t] = offsets[b] + t;
        return positions;
    }

    [Theory]
    [InlineData(RopeStyle.Interleaved, 8, 10000f)]
    [InlineData(RopeStyle.RotateHalf, 8, 10000f)]
    [InlineData(RopeStyle.Interleaved, 64, 500000f)]
    [InlineData(RopeStyle.RotateHalf, 64, 10000f)] // half = 32: exercises the vector path
    [InlineData(RopeStyle.RotateHalf, 36, 10000f)] // half = 18: vector path plus scalar tail
    public void Forward_matches_reference(RopeStyle style, int d, float theta)
    {
        int batch = 2, T = 5, heads = 3;
        var x = GradCheck.Random(1, 1f, batch, T, heads * d);
        var positions = Positions(batch, T, 0, 7);
        var y = Fn.Rope(new Tape(recording: false), x, heads, positions, style, theta);
        Assert.Equal(x.Shape, y.Shape);
        var expected = Reference(x, heads, positions, style, theta);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - y[i]) < 1e-5, $"element {i}: {y[i]} vs reference {expected[i]:G7}");
    }

    [Theory]
    [InlineData(RopeStyle.Interleaved)]
    [InlineData(RopeStyle.RotateHalf)]
    public void Large_positions_grow_the_table_and_match_reference(RopeStyle style)
    {
        var x = GradCheck.Random(2, 1f, 1, 3, 2 * 16);
        var positions = new[] { 5000, 1, 3001 };
        var y = Fn.Rope(new Tape(recording: false), x, 2, positions, style);
        var expected = Reference(x, 2, positions, style, 10000.0);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], y[i], 4);
        Assert.True(RopeTable.Get(16, 10000f, 1).Positions > 5000);
    }

    [Fact]
    public void Position_zero_is_identity()
    {
        var x = GradCheck.Random(3, 1f, 2, 1, 2 * 8);
        var y = Fn.Rope(new Tape(recording: false), x, 2, new[] { 0, 0 }, RopeStyle.Interleaved);
        Assert.Equal(x.ToArray(), y.ToArray());
    }

    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    public void RotateHalf_on_permuted_heads_equals_interleaved(int d)
    {
        int heads = 2, rows = 4;
        var interleaved = GradCheck.Random(4, 1f, 1, rows, heads * d);
        // permuted[h][i] = x[h][2i], permuted[h][i + d/2] = x[h][2i+1]
        var permuted = Tensor.Parameter(interleaved.Shape, trainable: false);
        void Permute(ReadOnlySpan<float> from, Span<float> to)
        {
            for (int r = 0; r < rows * heads; r++)
                for (int i = 0; i < d / 2; i++)
                {
                    to[r * d + i] = from[r * d + 2 * i];
                    to[r * d + d / 2 + i] = from[r * d + 2 * i + 1];
                }
        }
        Permute(interleaved.ReadOnlySpan, permuted.Span);
        var positions = new[] { 3, 17, 0, 400 };
        var tape = new Tape(recording: false);
        var fromInterleaved = Fn.Rope(tape, interleaved, heads, positions, RopeStyle.Interleaved);
        var fromHalf = Fn.Rope(tape, permuted, heads, positions, RopeStyle.RotateHalf);
        var expected = new float[fromHalf.Length];
        Permute(fromInterleaved.ReadOnlySpan, expected);
        Assert.Equal(expected, fromHalf.ToArray());
    }

    [Theory]
    [InlineData(RopeStyle.Interleaved)]
    [InlineData(RopeStyle.RotateHalf)]
    public void Scores_depend_only_on_relative_position(RopeStyle style)
    {
        int d = 16;
        var q = GradCheck.Random(5, 1f, 1, 1, d);
        var k = GradCheck.Random(6, 1f, 1, 1, d);
        double Score(int queryPos, int keyPos)
        {
            var tape = new Tape(recording: false);
            var rq = Fn.Rope(tape, q, 1, new[] { queryPos }, style);
            var rk = Fn.Rope(tape, k, 1, new[] { keyPos }, style);
            double dot = 0;
            for (int e = 0; e < d; e++) dot += (double)rq[e] * rk[e];
            return dot;
        }
        Assert.Equal(Score(9, 4), Score(105, 100), 4);
        Assert.Equal(Score(9, 4), Score(5, 0), 4);
        Assert.NotEqual(Score(9, 4), Score(9, 5), 3);
    }

    [Theory]
    [InlineData(RopeStyle.Interleaved)]
    [InlineData(RopeStyle.RotateHalf)]
    public void Gradients_match_finite_differences(RopeStyle style)
    {
        var x = GradCheck.Random(7, 1f, 2, 3, 2 * 36);
        var positions = Positions(2, 3, 2, 11);
        GradCheck.Check((tape, t) => Fn.Rope(tape, t[0], 2, positions, style), new[] { x });
    }

    [Fact]
    public void Invalid_arguments_are_rejected()
    {
        var x = GradCheck.Random(8, 1f, 1, 2, 2 * 6);
        // d = 3, odd
        Assert.Throws<ArgumentException>(() => Fn.Rope(new Tape(), x, 4, new[] { 0, 1 }, RopeStyle.RotateHalf));
        Assert.Throws<ArgumentException>(() => Fn.Rope(new Tape(), x, 2, new[] { 0 }, RopeStyle.RotateHalf));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fn.Rope(new Tape(), x, 2, new[] { 0, -1 },
            RopeStyle.RotateHalf));
    }
}
