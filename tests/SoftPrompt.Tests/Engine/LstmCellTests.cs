using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class LstmCellTests
{
    private const int Batch = 3, In = 5, Hidden = 4;

    private static Tensor[] Inputs(int seed) => new[]
    {
        GradCheck.Random(seed, 1f, Batch, In),              // x
        GradCheck.Random(seed + 1, 1f, Batch, Hidden),      // h
        GradCheck.Random(seed + 2, 1f, Batch, Hidden),      // c
        GradCheck.Random(seed + 3, 0.5f, 4 * Hidden, In),   // wIh
        GradCheck.Random(seed + 4, 0.5f, 4 * Hidden, Hidden), // wHh
        GradCheck.Random(seed + 5, 0.5f, 4 * Hidden),       // bIh
        GradCheck.Random(seed + 6, 0.5f, 4 * Hidden),       // bHh
    };

    // nn.LSTMCell in float64, gate rows ordered (i, f, g, o).
    private static (double[] H, double[] C) Reference(Tensor x, Tensor h, Tensor c, Tensor wIh, Tensor wHh, Tensor? bIh,
        Tensor? bHh)
    {
        static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
        var hNew = new double[Batch * Hidden];
        var cNew = new double[Batch * Hidden];
        var gate = new double[4 * Hidden];
        for (int b = 0; b < Batch; b++)
        {
            for (int r = 0; r < 4 * Hidden; r++)
            {
                double sum = (bIh?[r] ?? 0) + (bHh?[r] ?? 0);
                for (int e = 0; e < In; e++) sum += (double)x[b * In + e] * wIh[r * In + e];
                for (int e = 0; e < Hidden; e++) sum += (double)h[b * Hidden + e] * wHh[r * Hidden + e];
                gate[r] = sum;
            }
            for (int j = 0; j < Hidden; j++)
            {
                double i = Sigmoid(gate[j]), f = Sigmoid(gate[Hidden + j]), g = Math.Tanh(gate[2 * Hidden + j]),
                    o = Sigmoid(gate[3 * Hidden + j]);
                cNew[b * Hidden + j] = f * c[b * Hidden + j] + i * g;
                hNew[b * Hidden + j] = o * Math.Tanh(cNew[b * Hidden + j]);
            }
        }
        return (hNew, cNew);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Forward_matches_reference(bool withBiases)
    {
        var t = Inputs(1);
        Tensor? bIh = withBiases ? t[5] : null, bHh = withBiases ? t[6] : null;
        var (h, c) = Fn.LstmCell(new Tape(recording: false), t[0], t[1], t[2], t[3], t[4], bIh, bHh);
        Assert.Equal(new[] { Batch, Hidden }, h.Shape);
        Assert.Equal(new[] { Batch, Hidden }, c.Shape);
        var (expectedH, expectedC) = Reference(t[0], t[1], t[2], t[3], t[4], bIh, bHh);
        for (int i = 0; i < expectedH.Length; i++)
        {
            Assert.True(Math.Abs(expectedH[i] - h[i]) < 1e-5, $"h[{i}]: {h[i]} vs reference {expectedH[i]:G7}");
            Assert.True(Math.Abs(expectedC[i] - c[i]) < 1e-5, $"c[{i}]: {c[i]} vs reference {expectedC[i]:G7}");
        }
    }

    [Fact]
    public void Hidden_output_gradients_match_finite_differences()
        => GradCheck.Check((tape, t) => Fn.LstmCell(tape, t[0], t[1], t[2], t[3], t[4], t[5], t[6]).H, Inputs(10));

    [Fact]
    public void Cell_output_gradients_match_finite_differences()
        => GradCheck.Check((tape, t) => Fn.LstmCell(tape, t[0], t[1], t[2], t[3], t[4], t[5], t[6]).C, Inputs(20));

    [Fact]
    public void Two_steps_pass_gradient_through_both_states()
    {
        // Step 2 reads step 1's h and c, so step 1 receives gradient on both outputs at once.
        var t = Inputs(30);
        var x2 = GradCheck.Random(40, 1f, Batch, In);
        GradCheck.Check((tape, p) =>
        {
            var (h1, c1) = Fn.LstmCell(tape, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
            return Fn.LstmCell(tape, p[7], h1, c1, p[3], p[4], p[5], p[6]).H;
        }, t.Append(x2).ToArray());
    }

    [Fact]
    public void Without_biases_and_with_frozen_weights_gradients_still_match()
    {
        var t = Inputs(50);
        t[3].RequiresGrad = false;
        t[4].RequiresGrad = false;
        GradCheck.Check((tape, p) => Fn.LstmCell(tape, p[0], p[1], p[2], p[3], p[4], null, null).H, t[..5]);
        Assert.False(t[3].HasGrad);
        Assert.False(t[4].HasGrad);
        Assert.True(t[0].HasGrad);
    }

    [Fact]
    public void Wrong_weight_shape_is_rejected()
    {
        var t = Inputs(60);
        var badWeight = GradCheck.Random(61, 1f, 3 * Hidden, In);
        var ex = Assert.Throws<ArgumentException>(() => Fn.LstmCell(new Tape(), t[0], t[1], t[2], badWeight, t[4], null,
            null));
        Assert.Contains("wIh", ex.Message);
    }
}
