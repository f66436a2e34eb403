using SoftPrompt.Engine;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.Support;

/// <summary>How far each row of a mixed batch is from the same row run alone.</summary>
public static class MixedBatchCheck
{
    /// <returns>The largest |Δlogit| over all rows, and the largest per-row |Δlogit| / max(1, the row's largest
    /// |logit|).</returns>
    public static (double Absolute, double Relative) WorstDifference(CausalLanguageModel model,
        IReadOnlyList<PromptedRow> rows)
    {
        var tape = new Tape(recording: false);
        var batch = MixedPromptBatch.Build(tape, model, rows);
        var logits = model.Forward(tape, batch.Input).ToArray();
        int v = model.Config.VocabSize, t = batch.Length;
        double absolute = 0, relative = 0;
        for (int r = 0; r < rows.Count; r++)
        {
            var aloneTape = new Tape(recording: false);
            var alone = MixedPromptBatch.Build(aloneTape, model, new[] { rows[r] });
            var aloneLogits = model.Forward(aloneTape, alone.Input).ToArray();
            int offset = batch.RowStarts[r], realLength = t - offset;
            Assert.Equal(realLength, alone.Length);
            double rowWorst = 0, scale = 0;
            for (int i = 0; i < realLength * v; i++)
            {
                rowWorst = Math.Max(rowWorst, Math.Abs(logits[(r * t + offset) * v + i] - aloneLogits[i]));
                scale = Math.Max(scale, Math.Abs(aloneLogits[i]));
            }
            absolute = Math.Max(absolute, rowWorst);
            relative = Math.Max(relative, rowWorst / Math.Max(1, scale));
        }
        return (absolute, relative);
    }
}
