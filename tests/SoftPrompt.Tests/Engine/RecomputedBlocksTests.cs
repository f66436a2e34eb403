using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

/// <summary>Blocks run again in backward (gradient checkpointing) give the plain path's gradients to the bit, with
/// a fraction of its activation memory.</summary>
public class RecomputedBlocksTests
{
    private static readonly SoftPrompt.Models.Formats.LoadedModel Loaded = MoodTask.Load();

    private static (float[] PromptGradient, float[] LayerGradient, float Loss, long PooledBytes) Step(
        bool recompute)
    {
        Loaded.Model.RecomputeBlocksInBackward = recompute; // a trainable norm inside block 4 gets its gradient
        try { return MoodTask.TwoSteps(Loaded, new Tape { ReleaseGradientsEagerly = true }); } // as the trainer runs
        finally { Loaded.Model.RecomputeBlocksInBackward = false; }
    }

    [Fact]
    public void Gradients_are_bit_identical_and_the_step_holds_less()
    {
        var kept = Step(recompute: false);
        var recomputed = Step(recompute: true);
        Assert.Equal(kept.Loss, recomputed.Loss);
        Assert.Equal(kept.PromptGradient, recomputed.PromptGradient);
        Assert.Equal(kept.LayerGradient, recomputed.LayerGradient);
        Assert.Contains(recomputed.PromptGradient, g => g != 0);
        Assert.Contains(recomputed.LayerGradient, g => g != 0);
        Assert.True(recomputed.PooledBytes < kept.PooledBytes * 0.6,
            $"pool {recomputed.PooledBytes:N0} B recomputing vs {kept.PooledBytes:N0} B keeping every block's");
    }

    [Fact]
    public void A_segment_replayed_in_backward_gives_the_plain_gradient()
    {
        // y = tanh(x · wᵀ) ⊙ x, run plainly and as a recomputed segment: the same gradients for x (through the
        // segment's input, an activation) and for w (a trainable parameter the segment reads).
        var rng = new Random(4);
        var x = Tensor.Parameter([3, 5], trainable: true);
        var w = Tensor.Parameter([5, 5], trainable: true);
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble() - 0.5f;
        for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextDouble() - 0.5f;
        static Tensor Segment(Tape tape, Tensor input, Tensor weight) =>
            Fn.Mul(tape, Fn.Tanh(tape, Fn.Linear(tape, input, weight)), input);

        (float[] Dx, float[] Dw) Gradients(bool recompute)
        {
            x.ZeroGrad();
            w.ZeroGrad();
            var tape = new Tape();
            var hidden = Fn.Scale(tape, x, 1.5f); // an activation, as a block's input is
            var y = recompute
                ? Fn.Recomputed(tape, hidden, needsGradient: true, (t, input) => Segment(t, input, w))
                : Segment(tape, hidden, w);
            tape.Backward(Fn.Sum(tape, y));
            return (x.Grad.ToArray(), w.Grad.ToArray());
        }

        var plain = Gradients(recompute: false);
        var replayed = Gradients(recompute: true);
        Assert.Equal(plain.Dx, replayed.Dx);
        Assert.Equal(plain.Dw, replayed.Dw);
        Assert.Contains(replayed.Dw, g => g != 0);
    }
}
