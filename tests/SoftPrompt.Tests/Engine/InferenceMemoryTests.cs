using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

/// <summary>A pass that records nothing holds one block's activations at a time, and computes the same
/// logits.</summary>
public class InferenceMemoryTests
{
    private static readonly SoftPrompt.Models.Formats.LoadedModel Loaded = MoodTask.Load();

    [Fact]
    public void Inference_returns_each_blocks_activations_and_gives_the_same_logits()
    {
        var model = Loaded.Model;
        var ids = Loaded.Tokenizer!.Encode(string.Join(" ",
            Enumerable.Repeat("Lily and Tom played in the big green park.", 20)));
        (float[] Logits, long Pooled) Run(bool recording)
        {
            var tape = new Tape(recording);
            var logits = model.Forward(tape, new ForwardInput { Batch = 2, Length = ids.Length,
                TokenIds = [.. ids, .. ids] }).ToArray();
            long pooled = tape.PooledBytes;
            tape.Reset();
            return (logits, pooled);
        }
        var recorded = Run(recording: true);
        var inferred = Run(recording: false);
        Assert.Equal(recorded.Logits, inferred.Logits);
        Assert.True(inferred.Pooled < recorded.Pooled * 0.6,
            $"inference pooled {inferred.Pooled:N0} B, a recording pass {recorded.Pooled:N0} B");
    }
}
