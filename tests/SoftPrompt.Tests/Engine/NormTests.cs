using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class NormTests
{
    [Fact]
    public void LayerNorm_matches_float64_reference()
    {
        const int rows = 5, cols = 37;
        var x = GradCheck.Random(1, 3f, rows, cols);
        var gain = GradCheck.Random(2, 1f, cols);
        var bias = GradCheck.Random(3, 1f, cols);
        var y = Fn.LayerNorm(new Tape(recording: false), x, gain, bias, 1e-5f);
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, variance = 0;
            for (int i = 0; i < cols; i++) mean += x[r * cols + i];
            mean /= cols;
            for (int i = 0; i < cols; i++) variance += Math.Pow(x[r * cols + i] - mean, 2);
            variance /= cols;
            for (int i = 0; i < cols; i++)
            {
                double expected = (x[r * cols + i] - mean) / Math.Sqrt(variance + 1e-5) * gain[i] + bias[i];
                Assert.Equal(expected, y[r * cols + i], 2e-5);
            }
        }
    }

    [Fact]
    public void RmsNorm_matches_float64_reference()
    {
        const int rows = 4, cols = 29;
        var x = GradCheck.Random(4, 3f, rows, cols);
        var gain = GradCheck.Random(5, 1f, cols);
        var y = Fn.RmsNorm(new Tape(recording: false), x, gain, 1e-6f);
        for (int r = 0; r < rows; r++)
        {
            double meanSquare = 0;
            for (int i = 0; i < cols; i++) meanSquare += Math.Pow(x[r * cols + i], 2);
            meanSquare /= cols;
            for (int i = 0; i < cols; i++)
                Assert.Equal(x[r * cols + i] / Math.Sqrt(meanSquare + 1e-6) * gain[i], y[r * cols + i], 2e-5);
        }
    }

    [Fact]
    public void LayerNorm_gradients_match_finite_differences()
    {
        var x = GradCheck.Random(6, 1f, 2, 3, 8);
        var gain = GradCheck.Random(7, 1f, 8);
        var bias = GradCheck.Random(8, 1f, 8);
        GradCheck.Check((tape, t) => Fn.LayerNorm(tape, t[0], t[1], t[2], 1e-5f), new[] { x, gain, bias });
    }

    [Fact]
    public void LayerNorm_without_bias_gradients_match_finite_differences()
    {
        var x = GradCheck.Random(9, 1f, 4, 6);
        var gain = GradCheck.Random(10, 1f, 6);
        GradCheck.Check((tape, t) => Fn.LayerNorm(tape, t[0], t[1], null, 1e-5f), new[] { x, gain });
    }

    [Fact]
    public void RmsNorm_gradients_match_finite_differences()
    {
        var x = GradCheck.Random(11, 1f, 3, 2, 8);
        var gain = GradCheck.Random(12, 1f, 8);
        GradCheck.Check((tape, t) => Fn.RmsNorm(tape, t[0], t[1], 1e-6f), new[] { x, gain });
    }

    [Fact]
    public void Frozen_gain_gets_no_gradient_but_input_does()
    {
        var x = GradCheck.Random(13, 1f, 3, 8);
        var gain = GradCheck.Random(14, 1f, 8);
        gain.RequiresGrad = false;
        var tape = new Tape();
        tape.Backward(Fn.Sum(tape, Fn.Mul(tape, Fn.RmsNorm(tape, x, gain, 1e-6f), GradCheck.Random(15, 1f, 3, 8))));
        Assert.False(gain.HasGrad);
        Assert.Contains(x.Grad.ToArray(), g => g != 0f);
    }

    [Fact]
    public void Gain_of_wrong_length_is_rejected_with_both_shapes()
    {
        var x = GradCheck.Random(16, 1f, 3, 8);
        var gain = GradCheck.Random(17, 1f, 7);
        var e = Assert.Throws<ArgumentException>(() => Fn.LayerNorm(new Tape(), x, gain, null, 1e-5f));
        Assert.Contains("[7]", e.Message);
        Assert.Contains("[3, 8]", e.Message);
    }
}
