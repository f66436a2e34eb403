using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>
    /// segment(input) → output, keeping none of the segment's activations for backward (gradient checkpointing):
    /// the forward runs the segment without recording and keeps only its output; the backward step runs it again on
    /// the tape's <see cref="Tape.Replay"/> tape, back-propagates the output's gradient through that, and empties it.
    /// A training step then holds one segment's activations at a time instead of all of them, for one more forward
    /// of the segment. The gradients are the ones the plain path gives, to the bit: the segment computes the same
    /// values twice, so it must not sample (dropout) and must read, besides <paramref name="input"/>, only parameters
    /// or tensors that need no gradient.
    /// </summary>
    /// <param name="needsGradient">Whether anything in the segment needs a gradient: the input, or a trainable
    /// parameter the segment reads. When false the segment simply runs (nothing to replay).</param>
    public static Tensor Recomputed(Tape tape, Tensor input, bool needsGradient, Func<Tape, Tensor, Tensor> segment)
    {
        if (!tape.IsRecording || !needsGradient) return segment(tape, input);
        int mark = tape.OwnedCount;
        Tensor output;
        tape.IsRecording = false;
        try
        {
            var values = segment(tape, input);
            output = tape.NewLike(values, requiresGrad: true);
            values.ReadOnlySpan.CopyTo(output.Span);
            tape.ReturnMadeSince(mark, keep: output);
        }
        finally
        {
            tape.IsRecording = true;
        }
        tape.Record(() =>
        {
            if (!output.HasGrad) return;
            var replay = tape.Replay; // empty: every replay resets it when done
            try
            {
                // The replay's input: a copy of the input's values, whose gradient the replay's first recorded step —
                // the last to run — adds to the input's (the replay hands each gradient back once it is complete).
                var replayInput = replay.NewLike(input, requiresGrad: input.RequiresGrad);
                input.ReadOnlySpan.CopyTo(replayInput.Span);
                if (input.RequiresGrad)
                    replay.Record(() =>
                    {
                        if (replayInput.HasGrad) TensorPrimitives.Add(input.Grad, replayInput.Grad, input.Grad);
                    });
                var replayed = segment(replay, replayInput);
                if (replayed.RequiresGrad) replay.Backward(replayed, output.Grad);
            }
            finally
            {
                replay.Reset();
            }
        });
        return output;
    }
}
