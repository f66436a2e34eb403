using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// Label scoring for requests of different tasks, prompts and lengths in shared forward passes. What classifiers,
/// ensembles and the server batch through.
/// </summary>
public static class MixedScoring
{
    /// <summary>Per request, the log-probability of each of its task's labels (in Task.Labels order).</summary>
    /// <param name="tape">A non-recording tape to run on; a caller that scores batch after batch (the server) passes
    /// the same one each time so its pool serves them all. Null: a new one.</param>
    public static double[][] LabelScores(CausalLanguageModel model, IReadOnlyList<(PromptClassifier Classifier,
        LabeledExample Example)> requests,
        int rowsPerBatch = 16, Tape? tape = null)
    {
        if (tape is { IsRecording: true })
            throw new ArgumentException("Label scoring needs a tape that records nothing.");
        var scores = requests.Select(r => new double[r.Classifier.Task.Labels.Count]).ToArray();
        tape ??= new Tape(recording: false);
        var byHooks = Enumerable.Range(0, requests.Count).ToLookup(q => requests[q].Classifier.Adapter is null);
        ScoreSharingPrefixes(model, tape, requests, byHooks[true].ToList(), scores, rowsPerBatch);
        ScoreWholeRows(model, tape, requests, byHooks[false].ToList(), scores, rowsPerBatch);
        tape.Reset();
        return scores;
    }

    /// <summary>
    /// Each request's [P; x] runs once, as a row of a left-padded <see cref="MixedPromptBatch"/> that fills a KV cache;
    /// its last position scores every label's first token, so a verbalizer of one-token labels costs one row per
    /// request however many labels it has. Later tokens of longer labels run as short rows over copies of their
    /// request's cache.
    /// </summary>
    private static void ScoreSharingPrefixes(CausalLanguageModel model, Tape tape,
        IReadOnlyList<(PromptClassifier Classifier, LabeledExample Example)> requests,
        IReadOnlyList<int> which, double[][] scores, int rowsPerBatch)
    {
        int vocab = model.Config.VocabSize, width = model.Config.HiddenSize;
        var inputs = which.ToDictionary(q => q, q => requests[q].Classifier.InputTokens(requests[q].Example));
        // Prefixes of similar length share a batch, so little of it is padding (requests of many lengths arrive
        // together). Longest first: the first batch sizes the tape's arrays and every later, shorter one reuses them.
        var order = which.OrderByDescending(q => (requests[q].Classifier.Prompt?.Length ?? 0) + inputs[q].Length)
            .ToList();
        KvCache? cache = null;
        for (int start = 0; start < order.Count; start += rowsPerBatch)
        {
            var chunk = order.GetRange(start, Math.Min(rowsPerBatch, order.Count - start));
            var labels = chunk.Select(q => requests[q].Classifier.Task.Labels.Select(l =>
                requests[q].Classifier.LabelTokens[l]).ToArray()).ToArray();
            int longestLabel = labels.Max(l => l.Max(tokens => tokens.Length));
            tape.Reset();
            // [P; x] or, for a prompt placed before the answer, [x; P]: either way the labels continue the row.
            var prefixRows = chunk.Select(q => new PromptedRow(requests[q].Classifier.Prompt, inputs[q],
                requests[q].Classifier.Prompt?.Placement == PromptPlacement.BeforeAnswer ? inputs[q].Length : 0))
                    .ToList();
            int capacity = prefixRows.Max(r => (r.Prompt?.Length ?? 0) + r.TokenIds.Length) + longestLabel - 1;
            // Longest batches come first, so the first cache fits every later batch of as many rows: reuse it.
            if (cache is null || cache.Batch != chunk.Count || cache.Capacity < capacity) cache =
                new KvCache(model.Config, chunk.Count, capacity);
            else cache.Clear();
            var prefix = MixedPromptBatch.Build(tape, model, prefixRows, cache: cache);
            int length = prefix.Length;
            var hidden = model.Hidden(tape, prefix.Input).Reshape(chunk.Count * length, width);
            var lastPositions = Enumerable.Range(0, chunk.Count).Select(i => i * length + length - 1).ToArray();
            var firstLogits = model.Logits(tape, Fn.Embedding(tape, hidden, lastPositions)).ReadOnlySpan;
            for (int i = 0; i < chunk.Count; i++)
            {
                var row = firstLogits.Slice(i * vocab, vocab);
                float normalizer = Engine.Ops.CrossEntropy.LogSumExp(row);
                for (int l = 0; l < labels[i].Length; l++) scores[chunk[i]][l] = row[labels[i][l][0]] - normalizer;
            }

            var longer = new List<(int Row, int Label)>();
            for (int i = 0; i < chunk.Count; i++)
                for (int l = 0; l < labels[i].Length; l++)
                    if (labels[i][l].Length > 1) longer.Add((i, l));
            for (int from = 0; from < longer.Count; from += rowsPerBatch)
            {
                var part = longer.GetRange(from, Math.Min(rowsPerBatch, longer.Count - from));
                int steps = longestLabel - 1;
                var ids = new int[part.Count * steps];
                var positions = new int[part.Count * steps];
                var predicting = new List<int>();
                for (int k = 0; k < part.Count; k++)
                {
                    var (i, l) = part[k];
                    var tokens = labels[i][l];
                    for (int j = 0; j < steps; j++)
                    {
                        // Rows shorter than the longest label repeat a token at the end; nothing reads those positions.
                        ids[k * steps + j] = tokens[Math.Min(j, tokens.Length - 2)];
                        // each row's positions go on from its prefix
                        positions[k * steps + j] = length - prefix.RowStarts[i] + j;
                    }
                    for (int j = 1; j < tokens.Length; j++) predicting.Add(k * steps + j - 1);
                }
                var rowCache = cache.Gather(part.Select(p => p.Row).ToArray());
                var labelHidden = model.Hidden(tape, new ForwardInput { Batch = part.Count, Length = steps,
                    TokenIds = ids, Positions = positions, Cache = rowCache });
                var logits = model.Logits(tape, Fn.Embedding(tape, labelHidden.Reshape(part.Count * steps, width),
                    predicting.ToArray())).ReadOnlySpan;
                int next = 0;
                foreach (var (i, l) in part)
                    for (int j = 1; j < labels[i][l].Length; j++, next++)
                    {
                        var row = logits.Slice(next * vocab, vocab);
                        scores[chunk[i]][l] += row[labels[i][l][j]] - Engine.Ops.CrossEntropy.LogSumExp(row);
                    }
            }
        }
    }

    /// <summary>
    /// Every (request, label) as one whole row [padding; P; x; y]: for adapters whose layer hooks see the whole
    /// sequence in one forward pass (a cached prefix would bypass them).
    /// </summary>
    private static void ScoreWholeRows(CausalLanguageModel model, Tape tape, IReadOnlyList<(PromptClassifier Classifier,
        LabeledExample Example)> requests,
        IReadOnlyList<int> which, double[][] scores, int rowsPerBatch)
    {
        var rows = new List<(int Request, int Label, PromptEmbedding? Prompt, IModelAdapter? Adapter, int[] Input,
            int[] Target)>();
        foreach (int q in which)
        {
            var (classifier, example) = requests[q];
            var labels = classifier.Task.Labels;
            var input = classifier.InputTokens(example);
            for (int l = 0; l < labels.Count; l++) rows.Add((q, l, classifier.Prompt, classifier.Adapter, input,
                classifier.LabelTokens[labels[l]]));
        }
        // Rows of similar length share a chunk, so little of a chunk is padding (requests of many lengths arrive
        // together).
        var adapters = rows.Select(r => r.Adapter).Distinct().ToList();
        rows = rows.OrderBy(r => r.Adapter is PrefixTuning.PrefixAdapter ? -1 : adapters.IndexOf(r.Adapter))
            .ThenByDescending(r => (r.Prompt?.Length ?? 0) + r.Input.Length + r.Target.Length).ToList();
        for (int start = 0, count; start < rows.Count; start += count)
        {
            // Soft prompts and prefixes (prefix tuning, deep prompts) mix freely within a batch, each row with its own;
            // other layer hooks (LoRA, adapters) belong to the whole batch, so such a chunk keeps to one adapter.
            for (count = 1; count < rowsPerBatch && start + count < rows.Count && SharesBatch(rows[start].Adapter,
                rows[start + count].Adapter); count++) { }
            var chunk = rows.GetRange(start, count);
            bool perRow = chunk[0].Adapter is PrefixTuning.PrefixAdapter;
            tape.Reset();
            var batch = MixedPromptBatch.Build(tape, model,
                chunk.Select(r => new PromptedRow(r.Prompt, [.. r.Input, .. r.Target],
                    r.Prompt?.Placement == PromptPlacement.BeforeAnswer ? r.Input.Length : 0) { Prefix = perRow
                        ? (PrefixTuning.PrefixAdapter)r.Adapter! : null }).ToList(),
                perRow ? null : chunk[0].Adapter);
            // Only the positions that predict a label token go through the LM head.
            var positions = batch.PredictingPositions(chunk.Select(r => r.Target.Length).ToList());
            var hidden = model.Hidden(tape, batch.Input);
            var predicting = Fn.Embedding(tape, hidden.Reshape(chunk.Count * batch.Length, model.Config.HiddenSize),
                positions);
            var targetStarts = new int[chunk.Count + 1];
            for (int i = 0; i < chunk.Count; i++) targetStarts[i + 1] = targetStarts[i] + chunk[i].Target.Length;
            var sums = PromptedSequences.TargetLogProbabilities(model.Logits(tape, predicting),
                chunk.SelectMany(r => r.Target).ToArray(), targetStarts);
            for (int i = 0; i < chunk.Count; i++) scores[chunk[i].Request][chunk[i].Label] = sums[i];
        }
    }

    private static bool SharesBatch(IModelAdapter? first, IModelAdapter? next) =>
        first == next || (first is PrefixTuning.PrefixAdapter && next is PrefixTuning.PrefixAdapter);
}
