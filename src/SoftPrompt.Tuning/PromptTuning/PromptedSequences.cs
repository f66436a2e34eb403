using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// The forward pass the prompt objectives share: rows [x; y] right-padded to one length (causal attention never lets a
/// real token see the padding), with trained vectors in some of x's slots — a soft prompt in front of the input
/// ([P; x; y]) or after it ([x; P; y]), or P-tuning's pseudo tokens anywhere in a template. Only the positions that
/// predict a token of y go through the LM head — for a one-token label that is one row in a hundred, and the head
/// is the widest matrix of the model.
/// </summary>
public static class PromptedSequences
{
    /// <summary>A row: input tokens (placeholders where <paramref name="VectorSlots"/> say the vectors go, in order),
    /// then the target tokens the objective scores.</summary>
    public sealed record Row(int[] Input, int[] VectorSlots, int[] Target);

    /// <summary>Rows of a soft prompt placed as <see cref="PromptEmbedding.Placement"/> says.</summary>
    public static (Tensor Logits, int[] Targets, int[] RowStarts) Logits(Tape tape, CausalLanguageModel model,
        PromptEmbedding? prompt,
        IReadOnlyList<(int[] Input, int[] Target)> rows, int paddingId, IModelAdapter? adapter = null)
    {
        var (hidden, targets, rowStarts) = Predicting(tape, model, prompt, rows, paddingId, adapter);
        return (model.Logits(tape, hidden), targets, rowStarts);
    }

    /// <summary>As <see cref="Logits"/>, but the final hidden states (R, D) of the predicting positions, before the LM
    /// head.</summary>
    public static (Tensor Hidden, int[] Targets, int[] RowStarts) Predicting(Tape tape, CausalLanguageModel model,
        PromptEmbedding? prompt,
        IReadOnlyList<(int[] Input, int[] Target)> rows, int paddingId, IModelAdapter? adapter = null)
    {
        int p = prompt?.Length ?? 0;
        bool afterInput = prompt?.Placement == PromptPlacement.BeforeAnswer;
        var placed = rows.Select(r =>
        {
            var input = new int[p + r.Input.Length];
            Array.Fill(input, paddingId);
            r.Input.CopyTo(input, afterInput ? 0 : p);
            int first = afterInput ? r.Input.Length : 0;
            return new Row(input, Enumerable.Range(first, p).ToArray(), r.Target);
        }).ToList();
        return Predicting(tape, model, prompt?.Prompt, placed, paddingId, adapter);
    }

    /// <param name="vectors">(p, D) placed, in order, at each row's p slots; null when rows have no slots.</param>
    /// <returns>Logits (R, V) of the R positions that predict target tokens, those tokens (R), and where each input
    /// row's targets start among the R (length B + 1).</returns>
    public static (Tensor Logits, int[] Targets, int[] RowStarts) Logits(Tape tape, CausalLanguageModel model,
        Tensor? vectors,
        IReadOnlyList<Row> rows, int paddingId, IModelAdapter? adapter = null)
    {
        var (hidden, targets, rowStarts) = Predicting(tape, model, vectors, rows, paddingId, adapter);
        return (model.Logits(tape, hidden), targets, rowStarts);
    }

    private static (Tensor Hidden, int[] Targets, int[] RowStarts) Predicting(Tape tape, CausalLanguageModel model,
        Tensor? vectors,
        IReadOnlyList<Row> rows, int paddingId, IModelAdapter? adapter)
    {
        int b = rows.Count, t = rows.Max(r => r.Input.Length + r.Target.Length), d = model.Config.HiddenSize;
        var ids = new int[b * t];
        Array.Fill(ids, paddingId);
        var rowStarts = new int[b + 1];
        var slots = new List<int>();
        for (int r = 0; r < b; r++)
        {
            var row = rows[r];
            if (row.Input.Length == 0)
                throw new ArgumentException($"Row {r} has no input tokens to predict its target from.");
            if (row.VectorSlots.Length != (vectors?.Dim(0) ?? 0))
                throw new ArgumentException(
                    $"Row {r} has {row.VectorSlots.Length} slots for {vectors?.Dim(0) ?? 0} trained vectors.");
            row.Input.CopyTo(ids, r * t);
            row.Target.CopyTo(ids, r * t + row.Input.Length);
            foreach (int slot in row.VectorSlots)
            {
                if ((uint)slot >= (uint)row.Input.Length)
                    throw new ArgumentException(
                        $"Row {r}: slot {slot} is outside its {row.Input.Length} input tokens.");
                slots.Add(r * t + slot);
            }
            rowStarts[r + 1] = rowStarts[r] + row.Target.Length;
        }
        var positions = new int[rowStarts[b]];
        var targets = new int[rowStarts[b]];
        for (int r = 0; r < b; r++)
            for (int j = 0; j < rows[r].Target.Length; j++)
            {
                positions[rowStarts[r] + j] = r * t + rows[r].Input.Length - 1 + j;
                targets[rowStarts[r] + j] = rows[r].Target[j];
            }
        var hooks = adapter?.Hooks(new int[b]); // right padding: every row starts at position 0
        ForwardInput input;
        if (vectors is null || slots.Count == 0) input = new ForwardInput { Batch = b, Length = t, TokenIds = ids,
            Hooks = hooks };
        else
        {
            if (vectors.Rank != 2 || vectors.Dim(1) != d)
                throw new ArgumentException(
                    $"Trained vectors of shape [{string.Join(", ", vectors.Shape)}] cannot go into a model of width " +
                    $"{d}.");
            var copies = new Tensor[b];
            Array.Fill(copies, vectors);
            var text = Fn.Embedding(tape, model.TokenEmbedding, ids, b, t).Reshape(b * t, d);
            var embeddings = Fn.ReplaceRows(tape, text, slots.ToArray(), b == 1 ? vectors : Fn.Concat(tape, 0, copies))
                .Reshape(b, t, d);
            input = new ForwardInput { Batch = b, Length = t, Embeddings = embeddings, Hooks = hooks };
        }
        var hidden = model.Hidden(tape, input);
        // Gathering rows is an embedding lookup with the hidden states as the table (backward scatters the gradient
        // back).
        return (Fn.Embedding(tape, hidden.Reshape(b * t, d), positions), targets, rowStarts);
    }

    /// <summary>Per row, Σ log Pr(target token) over its targets, from <see cref="Logits"/>' results.</summary>
    public static double[] TargetLogProbabilities(Tensor logits, int[] targets, int[] rowStarts)
    {
        int vocab = logits.Dim(1);
        var values = logits.ReadOnlySpan;
        var sums = new double[rowStarts.Length - 1];
        for (int r = 0; r < sums.Length; r++)
            for (int i = rowStarts[r]; i < rowStarts[r + 1]; i++)
            {
                var row = values.Slice(i * vocab, vocab);
                sums[r] += row[targets[i]] - Engine.Ops.CrossEntropy.LogSumExp(row);
            }
        return sums;
    }
}
