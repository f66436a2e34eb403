using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Label scoring for requests of different tasks, prompts and lengths in shared forward passes: every (request, label)
/// is one row [padding; P; x; y] of a <see cref="MixedPromptBatch"/>. What ensembles and the server batch through.
/// </summary>
public static class MixedScoring
{
    /// <summary>Per request, the log-probability of each of its task's labels (in Task.Labels order).</summary>
    public static double[][] LabelScores(CausalLanguageModel model, IReadOnlyList<(PromptClassifier Classifier, LabeledExample Example)> requests,
        int rowsPerBatch = 16)
    {
        var rows = new List<(int Request, int Label, PromptEmbedding? Prompt, IModelAdapter? Adapter, int[] Input, int[] Target)>();
        var scores = new double[requests.Count][];
        for (int q = 0; q < requests.Count; q++)
        {
            var (classifier, example) = requests[q];
            var labels = classifier.Task.Labels;
            scores[q] = new double[labels.Count];
            var input = classifier.InputTokens(example);
            for (int l = 0; l < labels.Count; l++) rows.Add((q, l, classifier.Prompt, classifier.Adapter, input, classifier.LabelTokens[labels[l]]));
        }
        // Rows of similar length share a chunk, so little of a chunk is padding (requests of many lengths arrive together).
        var adapters = rows.Select(r => r.Adapter).Distinct().ToList();
        rows = rows.OrderBy(r => adapters.IndexOf(r.Adapter)).ThenBy(r => (r.Prompt?.Length ?? 0) + r.Input.Length + r.Target.Length).ToList();
        var tape = new Tape(recording: false);
        int vocab = model.Config.VocabSize;
        for (int start = 0, count; start < rows.Count; start += count)
        {
            // Soft prompts mix freely within a batch; layer hooks belong to the whole batch, so a chunk keeps to one adapter.
            for (count = 1; count < rowsPerBatch && start + count < rows.Count && rows[start + count].Adapter == rows[start].Adapter; count++) { }
            var chunk = rows.GetRange(start, count);
            tape.Reset();
            var batch = MixedPromptBatch.Build(tape, model, chunk.Select(r => new PromptedRow(r.Prompt, [.. r.Input, .. r.Target])).ToList(),
                chunk[0].Adapter);
            // Only the positions that predict a label token go through the LM head.
            var positions = batch.PredictingPositions(chunk.Select(r => r.Target.Length).ToList());
            var hidden = model.Hidden(tape, batch.Input);
            var predicting = Fn.Embedding(tape, hidden.Reshape(chunk.Count * batch.Length, model.Config.HiddenSize), positions);
            var logits = model.Logits(tape, predicting).ReadOnlySpan;
            int next = 0;
            for (int i = 0; i < chunk.Count; i++)
            {
                var r = chunk[i];
                double sum = 0;
                for (int j = 0; j < r.Target.Length; j++, next++)
                {
                    var row = logits.Slice(next * vocab, vocab);
                    sum += row[r.Target[j]] - Engine.Ops.CrossEntropy.LogSumExp(row);
                }
                scores[r.Request][r.Label] = sum;
            }
        }
        tape.Reset();
        return scores;
    }
}
