using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class LinearTests
{
    [Fact]
    public void Gradients_match_finite_differences()
    {
        var x = GradCheck.Random(1, 1f, 2, 3, 5);
        var w = GradCheck.Random(2, 1f, 4, 5);
        var b = GradCheck.Random(3, 1f, 4);
        GradCheck.Check((tape, t) => Fn.Linear(tape, t[0], t[1], t[2]), new[] { x, w, b });
    }

    [Fact]
    public void Frozen_weight_gets_no_gradient_buffer()
    {
        var x = GradCheck.Random(1, 1f, 3, 5);
        var w = GradCheck.Random(2, 1f, 4, 5);
        w.RequiresGrad = false;
        var tape = new Tape();
        var y = Fn.Linear(tape, x, w);
        tape.Backward(y, new float[12].Select((_, i) => (float)i).ToArray());
        Assert.True(x.HasGrad);
        Assert.False(w.HasGrad);
    }
}

public class TapePoolTests
{
    [Fact]
    public void Varying_batch_lengths_reuse_pooled_arrays_instead_of_growing_the_pool()
    {
        var tape = new SoftPrompt.Engine.Tape();
        var w = SoftPrompt.Tests.Support.GradCheck.Random(1, 1f, 16, 16);
        for (int length = 200; length < 260; length++) // 60 different sizes, as batches of varying token counts are
        {
            tape.Reset();
            var x = tape.NewTensor(new[] { length, 16 }, requiresGrad: true);
            x.Span.Fill(0.5f);
            var y = SoftPrompt.Engine.Autograd.Fn.Linear(tape, x, w);
            tape.Backward(SoftPrompt.Engine.Autograd.Fn.Sum(tape, y));
            Assert.Equal(length * 16, x.Grad.Length);
        }
        Assert.True(tape.Allocations < 30, $"{tape.Allocations} arrays allocated for 60 sizes in one size range");
    }
}

public class TapeMemoryTests
{
    [Fact]
    public void Pool_stays_bounded_over_many_steps_of_random_lengths()
    {
        var tape = new SoftPrompt.Engine.Tape();
        var w = SoftPrompt.Tests.Support.GradCheck.Random(1, 1f, 64, 64);
        var rng = new Random(3);
        long largestStep = 0;
        for (int step = 0; step < 200; step++)
        {
            tape.Reset();
            int rows = 300 + rng.Next(3000);
            var x = tape.NewTensor(new[] { rows, 64 }, requiresGrad: true);
            var h = x;
            for (int layer = 0; layer < 4; layer++) h = SoftPrompt.Engine.Autograd.Fn.Linear(tape, h, w);
            tape.Backward(SoftPrompt.Engine.Autograd.Fn.Sum(tape, h));
            largestStep = Math.Max(largestStep, 10L * rows * 64 * sizeof(float));
        }
        Assert.True(tape.PooledBytes < 6 * largestStep + (64L << 20),
            $"pool holds {tape.PooledBytes:N0} bytes; the largest step needs about {largestStep:N0}");
    }
}
