using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class AdafactorTests
{
    // At step 1, β₂ = 1 − 1^(−0.8) = 0, so the second moment is g² itself and the update is g/|g| = sign(g), whose
    // RMS is 1: no clipping. For a matrix this holds when g² factors exactly, i.e. g = a·bᵀ (rank one).
    [Fact]
    public void First_step_moves_every_weight_by_the_learning_rate_against_the_gradient_sign()
    {
        var vector = Tensor.FromArray(new float[] { 1, 2, 3 }, new[] { 3 }, trainable: true, "v");
        var matrix = Tensor.FromArray(new float[6], new[] { 2, 3 }, trainable: true, "m");
        float[] a = { 2f, -0.5f }, b = { 1f, -3f, 0.25f };
        new float[] { 0.5f, -4f, 1e-3f }.CopyTo(vector.Grad);
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) matrix.Grad[i * 3 + j] = a[i] * b[j];
        var optimizer = new Adafactor(new[] { vector, matrix }, learningRate: 0.1f, weightDecay: 0f);
        optimizer.Update();
        Assert.Equal(new[] { 0.9f, 2.1f, 2.9f }, vector.ToArray(), new FloatTolerance(1e-5f));
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                Assert.Equal(-0.1f * MathF.Sign(a[i] * b[j]), matrix[i * 3 + j], 1e-4f);
    }

    [Fact]
    public void Large_updates_are_clipped_to_unit_rms()
    {
        // Later steps with a tiny gradient after a large one: |g|/√v̂ is small, so no clip; a sudden large gradient
        // after small ones makes u = g/√v̂ large, and the clip bounds the step to lr·RMS 1.
        var p = Tensor.FromArray(new float[4], new[] { 4 }, trainable: true, "p");
        var optimizer = new Adafactor(new[] { p }, learningRate: 1f, weightDecay: 0f);
        for (int step = 0; step < 5; step++)
        {
            p.Grad.Fill(1e-3f);
            optimizer.Update();
            optimizer.ZeroGrad();
        }
        var before = p.ToArray();
        p.Grad.Fill(10f);
        optimizer.Update();
        var moved = p.ToArray().Zip(before, (x, y) => Math.Abs(x - y)).ToArray();
        Assert.All(moved, m => Assert.Equal(1f, m, 1e-3f));
    }

    [Fact]
    public void Minimises_a_quadratic()
    {
        var target = GradCheck.Random(3, 1f, 4, 5);
        var w = Tensor.FromArray(new float[20], new[] { 4, 5 }, trainable: true, "w");
        var optimizer = new Adafactor(new[] { w }, learningRate: 0.05f, weightDecay: 0f);
        for (int step = 0; step < 300; step++)
        {
            for (int i = 0; i < 20; i++) w.Grad[i] = 2 * (w[i] - target[i]);
            optimizer.Update();
            optimizer.ZeroGrad();
            optimizer.LearningRate = 0.05f * (1 - step / 300f);
        }
        for (int i = 0; i < 20; i++) Assert.Equal(target[i], w[i], 0.05f);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}
