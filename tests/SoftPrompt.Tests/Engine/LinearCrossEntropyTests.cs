using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class LinearCrossEntropyTests
{
    [Fact]
    public void Equals_linear_then_cross_entropy_in_value_and_gradients()
    {
        // 300 rows cross the 256-row chunks; some rows ignored
        var x = GradCheck.Random(1, 1f, 300, 16);
        var w = GradCheck.Random(2, 1f, 37, 16);
        var rng = new Random(3);
        var targets = Enumerable.Range(0, 300).Select(i => i % 7 == 0 ? -100 : rng.Next(37)).ToArray();

        var tape = new Tape();
        var reference = Fn.CrossEntropy(tape, Fn.Linear(tape, x, w), targets);
        float referenceLoss = reference[0];
        tape.Backward(reference);
        var (dxRef, dwRef) = (x.Grad.ToArray(), w.Grad.ToArray());
        tape.Reset();
        x.ZeroGrad(); w.ZeroGrad();

        var fused = Fn.LinearCrossEntropy(tape, x, w, targets);
        tape.Backward(fused, new[] { 2.5f }); // an upstream gradient other than 1 must scale both
        Assert.Equal(referenceLoss, fused[0], 5);
        Assert.True(Compare.MaxRelativeError(x.Grad, dxRef.Select(g => g * 2.5f).ToArray()) < 1e-4);
        Assert.True(Compare.MaxRelativeError(w.Grad, dwRef.Select(g => g * 2.5f).ToArray()) < 1e-4);
    }

    [Fact]
    public void A_head_with_a_bfloat16_copy_matches_linear_then_cross_entropy_through_the_same_products()
    {
        // 300 rows cross the 256-row chunks of a head the bfloat16 kernels read as it is (where the CPU has them;
        // elsewhere both sides run in float32)
        var x = GradCheck.Random(8, 1f, 300, 32);
        var w = GradCheck.Random(9, 1f, 41, 32);
        w.RequiresGrad = false;
        w.HoldBf16CopyForProducts();
        var rng = new Random(10);
        var targets = Enumerable.Range(0, 300).Select(i => i % 5 == 0 ? -100 : rng.Next(41)).ToArray();

        var tape = new Tape();
        var reference = Fn.CrossEntropy(tape, Fn.Linear(tape, x, w), targets);
        float referenceLoss = reference[0];
        tape.Backward(reference);
        var dxRef = x.Grad.ToArray();
        tape.Reset();
        x.ZeroGrad();

        var fused = Fn.LinearCrossEntropy(tape, x, w, targets);
        tape.Backward(fused);
        Assert.Equal(referenceLoss, fused[0], 5);
        Assert.True(Compare.MaxRelativeError(x.Grad, dxRef) < 1e-4);
        Assert.Contains(dxRef.Skip(299 * 32), g => g != 0); // the last chunk's rows got their gradient
    }

    [Fact]
    public void Gradients_match_finite_differences()
    {
        var x = GradCheck.Random(4, 1f, 5, 6);
        var w = GradCheck.Random(5, 1f, 9, 6);
        GradCheck.Check((tape, t) => Fn.LinearCrossEntropy(tape, t[0], t[1], new[] { 1, -100, 8, 0, 3 }),
            new[] { x, w });
    }

    [Fact]
    public void Frozen_head_gets_no_gradient()
    {
        var x = GradCheck.Random(6, 1f, 4, 6);
        var w = GradCheck.Random(7, 1f, 9, 6);
        w.RequiresGrad = false;
        var tape = new Tape();
        tape.Backward(Fn.LinearCrossEntropy(tape, x, w, new[] { 1, 2, 3, 4 }));
        Assert.False(w.HasGrad);
        Assert.Contains(x.Grad.ToArray(), g => g != 0);
    }
}
