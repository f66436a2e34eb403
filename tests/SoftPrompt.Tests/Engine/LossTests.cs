using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class LossTests
{
    [Fact]
    public void Softmax_rows_sum_to_one_and_match_reference()
    {
        var x = GradCheck.Random(1, 5f, 3, 11);
        var y = Fn.Softmax(new Tape(recording: false), x);
        for (int r = 0; r < 3; r++)
        {
            double z = 0;
            for (int i = 0; i < 11; i++) z += Math.Exp(x[r * 11 + i]);
            for (int i = 0; i < 11; i++) Assert.Equal(Math.Exp(x[r * 11 + i]) / z, y[r * 11 + i], 1e-6);
        }
    }

    [Fact]
    public void Softmax_gradient_matches_finite_differences()
    {
        var x = GradCheck.Random(2, 2f, 4, 6);
        GradCheck.Check((tape, t) => Fn.Softmax(tape, t[0]), new[] { x });
    }

    [Fact]
    public void CrossEntropy_is_mean_negative_log_likelihood_over_counted_rows()
    {
        var logits = GradCheck.Random(3, 4f, 4, 7);
        int[] targets = { 3, -100, 0, 6 };
        var loss = Fn.CrossEntropy(new Tape(recording: false), logits, targets);
        double expected = 0;
        foreach (int r in new[] { 0, 2, 3 })
        {
            double z = 0;
            for (int i = 0; i < 7; i++) z += Math.Exp(logits[r * 7 + i]);
            expected += Math.Log(z) - logits[r * 7 + targets[r]];
        }
        Assert.Equal(expected / 3, loss[0], 1e-5);
    }

    [Fact]
    public void CrossEntropy_gradient_matches_finite_differences_and_skips_ignored_rows()
    {
        var logits = GradCheck.Random(4, 2f, 5, 6);
        int[] targets = { 1, 5, -100, 0, 2 };
        GradCheck.Check((tape, t) => Fn.CrossEntropy(tape, t[0], targets), new[] { logits });
        logits.ZeroGrad();
        var tape = new Tape();
        tape.Backward(Fn.CrossEntropy(tape, logits, targets));
        Assert.All(logits.Grad.Slice(2 * 6, 6).ToArray(), g => Assert.Equal(0f, g));
    }

    [Fact]
    public void CrossEntropy_with_every_row_ignored_is_zero()
    {
        var logits = GradCheck.Random(5, 1f, 2, 3);
        Assert.Equal(0f, Fn.CrossEntropy(new Tape(), logits, new[] { -100, -100 })[0]);
    }

    [Fact]
    public void CrossEntropy_rejects_targets_outside_the_vocabulary()
    {
        var logits = GradCheck.Random(6, 1f, 2, 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Fn.CrossEntropy(new Tape(), logits, new[] { 0, 3 }));
        Assert.Contains("row 1", e.Message);
    }

    [Fact]
    public void Sum_and_mean_gradients_match_finite_differences()
    {
        var x = GradCheck.Random(7, 1f, 3, 4);
        GradCheck.Check((tape, t) => Fn.Add(tape, Fn.Sum(tape, t[0]), Fn.Mean(tape, Fn.Mul(tape, t[0], t[0]))),
            new[] { x });
    }
}
