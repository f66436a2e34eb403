using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PTuning;

namespace SoftPrompt.Tuning.Cloze;

/// <summary>
/// What every cloze classifier on a BERT does: "[CLS] template [SEP]" with the example filled in, pseudo-token vectors
/// (if the template has {soft} slots) put in place of their placeholder embeddings, and each label scored by the MLM
/// head's logit for its verbalizer word at the [MASK] — one token per label, because one [MASK] hides one token. An
/// adapter inside the layers (LoRA, bottleneck adapters, deep prompts) adds its hooks to the forward pass.
/// </summary>
internal sealed class ClozeScorer
{
    private readonly Bert _model;
    private readonly WordPieceTokenizer _tokenizer;
    private readonly ClassificationTask _task;
    private readonly PTuningTemplate _template;
    private readonly int[] _labelTokens;

    public ClozeScorer(Bert model, WordPieceTokenizer tokenizer, ClassificationTask task, PTuningTemplate template)
    {
        if (!template.Text.Contains("[MASK]"))
            throw new ArgumentException($"Cloze template \"{template.Text}\" has no [MASK] for the label word.");
        if (tokenizer.ClsId is null || tokenizer.SepId is null || tokenizer.MaskId is null)
            throw new ArgumentException("A cloze classifier needs a tokenizer with [CLS], [SEP] and [MASK].");
        _model = model;
        _tokenizer = tokenizer;
        _task = task;
        _template = template;
        _labelTokens = task.Labels.Select(label =>
        {
            var ids = tokenizer.Encode(task.Verbalizer[label].Trim());
            return ids.Length == 1 ? ids[0]
                : throw new ArgumentException(
                    $"Label {label}'s word \"{task.Verbalizer[label]}\" is {ids.Length} WordPiece tokens; a [MASK] " +
                    $"holds one.");
        }).ToArray();
    }

    /// <summary>Each label's verbalizer token, in the task's label order.</summary>
    public IReadOnlyList<int> LabelTokens => _labelTokens;

    /// <summary>The ids the model reads for an example: [CLS] template [SEP], placeholders at the pseudo-token
    /// slots.</summary>
    public int[] Tokens(LabeledExample example) => Row(example).Tokens;

    /// <summary>[CLS] template [SEP] with placeholder ids at the pseudo-token slots, and where the [MASK] is.</summary>
    private (int[] Tokens, int[] Slots, int Mask) Row(LabeledExample example)
    {
        int pad = _tokenizer.PadId ?? 0, mask = _tokenizer.MaskId!.Value;
        var (body, slots) = _template.Encode(_tokenizer, example.Fields, _model.Config.MaxPositions - 2, pad);
        var tokens = new[] { _tokenizer.ClsId!.Value }.Concat(body).Append(_tokenizer.SepId!.Value).ToArray();
        // The template's own [MASK] is the last one: one typed inside the review text comes earlier.
        int at = Array.LastIndexOf(tokens, mask);
        if (at < 0)
            throw new ArgumentException($"Task {_task.Name}: the [MASK] was cut off; the template must keep it.");
        return (tokens, slots.Select(s => s + 1).ToArray(), at);
    }

    /// <summary>Label scores (B, C): the MLM logits of the verbalizer words at each row's [MASK].</summary>
    /// <param name="pseudoTokens">The template's {soft} vectors (p, D); null when it has none.</param>
    /// <param name="adapter">An adapter inside the model's layers, or null for the frozen model as it is.</param>
    public Tensor Logits(Tape tape, IReadOnlyList<LabeledExample> batch, Tensor? pseudoTokens, IModelAdapter? adapter =
        null)
    {
        var rows = batch.Select(Row).ToList();
        int b = rows.Count, t = rows.Max(r => r.Tokens.Length), d = _model.Config.HiddenSize,
            v = _model.Config.VocabSize;
        var ids = new int[b * t];
        var padding = new bool[b * t];
        Array.Fill(ids, _tokenizer.PadId ?? 0);
        var slots = new List<int>();
        var masks = new int[b];
        for (int r = 0; r < b; r++)
        {
            rows[r].Tokens.CopyTo(ids, r * t);
            for (int i = rows[r].Tokens.Length; i < t; i++) padding[r * t + i] = true;
            slots.AddRange(rows[r].Slots.Select(s => r * t + s));
            masks[r] = r * t + rows[r].Mask;
        }
        var embeddings = Fn.Embedding(tape, _model.TokenEmbedding, ids, b, t);
        // Every row gets the same pseudo-token vectors, at its own slots.
        if (pseudoTokens is not null)
            embeddings = Fn.ReplaceRows(tape, embeddings, slots.ToArray(),
                Fn.Concat(tape, 0, Enumerable.Repeat(pseudoTokens, b).ToArray()));
        var hidden = _model.Hidden(tape, new ForwardInput { Batch = b, Length = t, Embeddings = embeddings,
            Padding = padding, Hooks = adapter?.Hooks(new int[b]) });
        // Gathering rows is an embedding lookup with the tensor as the table (backward scatters the gradient back).
        var logits = _model.Logits(tape, Fn.Embedding(tape, hidden.Reshape(b * t, d), masks));
        var labelColumns = Enumerable.Range(0, b).SelectMany(r => _labelTokens.Select(token => r * v + token))
            .ToArray();
        return Fn.Embedding(tape, logits.Reshape(b * v, 1), labelColumns).Reshape(b, _labelTokens.Length);
    }

    public Tensor Loss(Tape tape, IReadOnlyList<LabeledExample> batch, Tensor? pseudoTokens, IModelAdapter? adapter =
        null) =>
        Fn.CrossEntropy(tape, Logits(tape, batch, pseudoTokens, adapter),
            batch.Select(e => _task.Labels.ToList().IndexOf(e.Label)).ToArray());

    /// <summary>Each example's label scores, in the task's label order.</summary>
    public double[][] LabelScores(IReadOnlyList<LabeledExample> examples, int batchSize, Func<Tape,
        Tensor?> pseudoTokens, IModelAdapter? adapter = null)
    {
        var tape = new Tape(recording: false);
        var scores = new List<double[]>();
        for (int start = 0; start < examples.Count; start += batchSize)
        {
            tape.Reset();
            var chunk = examples.Skip(start).Take(batchSize).ToList();
            var logits = Logits(tape, chunk, pseudoTokens(tape), adapter).ToArray();
            int c = _labelTokens.Length;
            scores.AddRange(Enumerable.Range(0, chunk.Count).Select(i => logits[(i * c)..((i + 1) * c)].Select(x =>
                (double)x).ToArray()));
        }
        tape.Reset();
        return scores.ToArray();
    }

    public string[] Predict(double[][] scores) => LabelPredictorExtensions.HighestScoring(scores, _task.Labels);
}
