using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>One row of a mixed batch: its own soft prompt (or none) before its token at <paramref name="PromptAt"/>
/// (0: in front of all of them).</summary>
public sealed record PromptedRow(PromptEmbedding? Prompt, int[] TokenIds, int PromptAt = 0)
{
    /// <summary>The row's own prefix-tuning or deep-prompt adapter, if any: rows of one batch may each carry
    /// another.</summary>
    public PrefixTuning.PrefixAdapter? Prefix { get; init; }

    /// <summary>Trained vectors (p, D) that replace the embeddings of tokens <see cref="VectorSlots"/> — P-tuning's
    /// pseudo tokens anywhere in a template (its encoder's output; see PTuningTemplate.Encode for the slots).</summary>
    public Tensor? Vectors { get; init; }
    public int[]? VectorSlots { get; init; }
}

/// <summary>
/// Rows of different tasks in one forward pass over one frozen model: each row is [padding; P_row; X_row] (or its
/// prompt inside X_row), left-padded to a common length so every row ends at the last position. Padding is masked out
/// of attention and each row's positions start at 0 at its own first real position, so a row computes exactly what it
/// would alone. Gradients reach every row's prompt, so the same batch serves multi-task training.
/// </summary>
public sealed class MixedPromptBatch
{
    private MixedPromptBatch(ForwardInput input, int[] starts)
    {
        Input = input;
        RowStarts = starts;
    }

    public ForwardInput Input { get; }
    /// <summary>Per row, the first non-padding position.</summary>
    public int[] RowStarts { get; }
    public int Length => Input.Length;

    /// <summary>
    /// Flat indices (row·Length + t) of the hidden states that predict each row's last targetLengths[row] tokens, row
    /// by row: the positions whose logits score a label or carry a loss. Rows end together, so a target of n tokens is
    /// predicted from positions Length−n−1 … Length−2.
    /// </summary>
    public int[] PredictingPositions(IReadOnlyList<int> targetLengths)
    {
        if (targetLengths.Count != Input.Batch)
            throw new ArgumentException($"{targetLengths.Count} target lengths for {Input.Batch} rows.");
        var positions = new List<int>();
        for (int r = 0; r < targetLengths.Count; r++)
        {
            if (targetLengths[r] < 1 || Length - targetLengths[r] - 1 < RowStarts[r])
                throw new ArgumentException(
                    $"Row {r}: a target of {targetLengths[r]} tokens leaves no text token to predict it from.");
            for (int j = 0; j < targetLengths[r]; j++) positions.Add(r * Length + Length - targetLengths[r] - 1 + j);
        }
        return positions.ToArray();
    }

    /// <param name="adapter">Layer hooks shared by every row (prefix tuning, deep prompts, LoRA, …), or null.</param>
    /// <param name="cache">Receives the rows' keys and values, for continuing them (label tokens after a shared
    /// prefix).</param>
    public static MixedPromptBatch Build(Tape tape, CausalLanguageModel model, IReadOnlyList<PromptedRow> rows,
        IModelAdapter? adapter = null,
        KvCache? cache = null)
    {
        if (rows.Count == 0) throw new ArgumentException("A mixed batch needs at least one row.");
        int d = model.Config.HiddenSize;
        int length = rows.Max(r => (r.Prompt?.Length ?? 0) + r.TokenIds.Length);
        var pieces = new Tensor[rows.Count];
        var positions = new int[rows.Count * length];
        var padding = new bool[rows.Count * length];
        var starts = new int[rows.Count];
        for (int r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            if (row.TokenIds.Length == 0) throw new ArgumentException($"Row {r} of the mixed batch has no tokens.");
            if (row.Prompt is not null && row.Prompt.Prompt.Dim(1) != d)
                throw new ArgumentException($"Row {r}: its prompt is {row.Prompt.Prompt.Dim(1)} wide, the model {d}.");
            if (row.PromptAt < 0 || row.PromptAt > row.TokenIds.Length)
                throw new ArgumentException(
                    $"Row {r}: its prompt goes before token {row.PromptAt} of {row.TokenIds.Length}.");
            int p = row.Prompt?.Length ?? 0, pad = length - p - row.TokenIds.Length;
            starts[r] = pad;
            var parts = new List<Tensor>(4);
            if (pad > 0) parts.Add(tape.NewTensor(new[] { 1, pad, d }, zero: true));
            if (row.PromptAt > 0) parts.Add(Fn.Embedding(tape, model.TokenEmbedding, row.TokenIds[..row.PromptAt], 1,
                row.PromptAt));
            if (row.Prompt is not null) parts.Add(row.Prompt.Prompt.Reshape(1, p, d));
            if (row.Vectors is not null)
            {
                if (row.Prompt is not null || row.VectorSlots is null || row.VectorSlots.Length != row.Vectors.Dim(0))
                    throw new ArgumentException(
                        $"Row {r}: pseudo-token vectors need one slot each and no soft prompt beside them.");
                int n = row.TokenIds.Length;
                var embedded = Fn.Embedding(tape, model.TokenEmbedding, row.TokenIds, 1, n).Reshape(n, d);
                parts.Add(Fn.ReplaceRows(tape, embedded, row.VectorSlots, row.Vectors).Reshape(1, n, d));
            }
            else if (row.PromptAt < row.TokenIds.Length)
                parts.Add(Fn.Embedding(tape, model.TokenEmbedding, row.TokenIds[row.PromptAt..], 1,
                    row.TokenIds.Length - row.PromptAt));
            pieces[r] = parts.Count == 1 ? parts[0] : Fn.Concat(tape, 1, parts.ToArray());
            for (int t = 0; t < length; t++)
            {
                padding[r * length + t] = t < pad;
                positions[r * length + t] = Math.Max(0, t - pad);
            }
        }
        var embeddings = pieces.Length == 1 ? pieces[0] : Fn.Concat(tape, 0, pieces);
        bool rowPrefixes = rows.Any(r => r.Prefix is not null);
        if (rowPrefixes && adapter is not null)
            throw new ArgumentException("Give either one adapter for the whole batch or a prefix per row, not both.");
        var input = new ForwardInput
        {
            Batch = rows.Count, Length = length, Embeddings = embeddings, Positions = positions, Padding = padding,
            Cache = cache,
            Hooks = rowPrefixes ? new PrefixTuning.MixedPrefixes(rows.Select(r => r.Prefix).ToList())
                : adapter?.Hooks(starts),
        };
        return new MixedPromptBatch(input, starts);
    }
}
