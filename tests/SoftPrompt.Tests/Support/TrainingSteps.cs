using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Models;
using Xunit;

namespace SoftPrompt.Tests.Support;

/// <summary>The "exactly these tensors train" check every adapter test makes.</summary>
public static class TrainingSteps
{
    /// <summary>One AdamW step on <paramref name="loss"/>: every tensor of <paramref name="trainable"/> changes, and
    /// every weight of the frozen model stays bit-identical and never gets a gradient buffer.</summary>
    public static void OneStepChangesExactly(ParameterizedModel model, IReadOnlyList<Tensor> trainable, Func<Tape,
        Tensor> loss)
    {
        model.SetTrainable(false);
        var frozen = model.Parameters.ToDictionary(p => p.Name, p => Bits(p.Tensor));
        var before = trainable.Select(Bits).ToList();
        var optimizer = new AdamW(trainable, learningRate: 1e-2f);
        var tape = new Tape();
        tape.Backward(loss(tape));
        optimizer.Update();
        optimizer.ZeroGrad();
        tape.Reset();
        for (int i = 0; i < trainable.Count; i++)
            Assert.False(before[i].SequenceEqual(Bits(trainable[i])), $"{trainable[i].Name} did not change");
        foreach (var p in model.Parameters)
        {
            Assert.True(frozen[p.Name].SequenceEqual(Bits(p.Tensor)), $"frozen {p.Name} changed");
            Assert.False(p.Tensor.HasGrad, $"frozen {p.Name} got a gradient buffer");
        }
    }

    /// <summary>Full-batch AdamW steps on <paramref name="loss"/>; the loss after them is lower than before.</summary>
    public static void LossFalls(Func<Tape, Tensor> loss, IReadOnlyList<Tensor> trainable, int steps,
        float learningRate = 1e-2f)
    {
        float Current()
        {
            var quiet = new Tape(recording: false);
            float value = loss(quiet)[0];
            quiet.Reset();
            return value;
        }
        float before = Current();
        var optimizer = new AdamW(trainable, learningRate, weightDecay: 0f);
        var tape = new Tape();
        for (int step = 0; step < steps; step++)
        {
            tape.Reset();
            tape.Backward(loss(tape));
            optimizer.Update();
            optimizer.ZeroGrad();
        }
        tape.Reset();
        float after = Current();
        Assert.True(after < before, $"loss {before} → {after}");
    }

    private static int[] Bits(Tensor t) => t.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
}
