using SoftPrompt.Engine;
using SoftPrompt.Models;

namespace SoftPrompt.Tests.Support;

/// <summary>Reference figures computed the slow, obvious way, for tests to compare the batched paths against.</summary>
public static class ByHand
{
    /// <summary>Σ_j log Pr(target[j]) from one unbatched forward pass over <paramref name="embeddings"/> (1, T, D), the
    /// target's tokens being the last of the T positions, its first predicted at
    /// <paramref name="firstPredicting"/>.</summary>
    public static double TargetLogProbability(CausalLanguageModel model, Tensor embeddings, int firstPredicting,
        IReadOnlyList<int> target)
    {
        var tape = new Tape(recording: false);
        var logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = embeddings.Dim(1),
            Embeddings = embeddings }).ToArray();
        tape.Reset();
        int vocab = model.Config.VocabSize;
        double sum = 0;
        for (int j = 0; j < target.Count; j++)
        {
            var row = logits.AsSpan((firstPredicting + j) * vocab, vocab).ToArray();
            double max = row.Max();
            sum += row[target[j]] - max - Math.Log(row.Sum(x => Math.Exp(x - max)));
        }
        return sum;
    }
}
