using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// The forward pass both prompt-tuning objectives share: rows [x; y] right-padded to one length (causal attention never
/// lets a real token see the padding) behind an optional soft prompt. Only the positions that predict a token of y
/// go through the LM head — for a one-token label that is one row in a hundred, and the head is the widest matrix of
/// the model.
/// </summary>
public static class PromptedSequences
{
    /// <returns>Logits (R, V) of the R positions that predict target tokens, those tokens (R), and where each input row's
    /// targets start among the R (length B + 1).</returns>
    public static (Tensor Logits, int[] Targets, int[] RowStarts) Logits(Tape tape, CausalLanguageModel model, PromptEmbedding? prompt,
        IReadOnlyList<(int[] Input, int[] Target)> rows, int paddingId, IModelAdapter? adapter = null)
    {
        int b = rows.Count, t = rows.Max(r => r.Input.Length + r.Target.Length), p = prompt?.Length ?? 0;
        var ids = new int[b * t];
        Array.Fill(ids, paddingId);
        var rowStarts = new int[b + 1];
        for (int r = 0; r < b; r++)
        {
            var (input, target) = rows[r];
            if (input.Length == 0) throw new ArgumentException($"Row {r} has no input tokens to predict its target from.");
            input.CopyTo(ids, r * t);
            target.CopyTo(ids, r * t + input.Length);
            rowStarts[r + 1] = rowStarts[r] + target.Length;
        }
        var positions = new int[rowStarts[b]];
        var targets = new int[rowStarts[b]];
        for (int r = 0; r < b; r++)
        {
            var (input, target) = rows[r];
            for (int j = 0; j < target.Length; j++)
            {
                positions[rowStarts[r] + j] = r * (p + t) + p + input.Length - 1 + j; // in the full [P; x; y] hidden states
                targets[rowStarts[r] + j] = target[j];
            }
        }
        var hooks = adapter?.Hooks(new int[b]); // right padding: every row starts at position 0
        var hidden = prompt is null
            ? model.Hidden(tape, new ForwardInput { Batch = b, Length = t, TokenIds = ids, Hooks = hooks })
            : model.Hidden(tape, prompt.Input(tape, model, ids, b, t, hooks));
        // Gathering rows is an embedding lookup with the hidden states as the table (backward scatters the gradient back).
        var predicting = Fn.Embedding(tape, hidden.Reshape(b * (p + t), model.Config.HiddenSize), positions);
        return (model.Logits(tape, predicting), targets, rowStarts);
    }
}
