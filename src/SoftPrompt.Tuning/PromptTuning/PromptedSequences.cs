using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// The forward pass both prompt-tuning objectives share: rows [P; x; y] (or [x; P; y]) right-padded to one length
/// (causal attention never lets a real token see the padding). Only the positions that predict a token of y
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
        int b = rows.Count, p = prompt?.Length ?? 0, t = p + rows.Max(r => r.Input.Length + r.Target.Length);
        bool afterInput = prompt?.Placement == PromptPlacement.BeforeAnswer;
        var ids = new int[b * t];
        Array.Fill(ids, paddingId); // prompt slots too: the prompt replaces their embeddings
        var promptStarts = new int[b];
        var rowStarts = new int[b + 1];
        for (int r = 0; r < b; r++)
        {
            var (input, target) = rows[r];
            if (input.Length == 0) throw new ArgumentException($"Row {r} has no input tokens to predict its target from.");
            promptStarts[r] = afterInput ? input.Length : 0;
            input.CopyTo(ids, r * t + (afterInput ? 0 : p));
            target.CopyTo(ids, r * t + p + input.Length);
            rowStarts[r + 1] = rowStarts[r] + target.Length;
        }
        var positions = new int[rowStarts[b]];
        var targets = new int[rowStarts[b]];
        for (int r = 0; r < b; r++)
        {
            var (input, target) = rows[r];
            for (int j = 0; j < target.Length; j++)
            {
                positions[rowStarts[r] + j] = r * t + p + input.Length - 1 + j; // the target follows the input and the prompt either way
                targets[rowStarts[r] + j] = target[j];
            }
        }
        var hooks = adapter?.Hooks(new int[b]); // right padding: every row starts at position 0
        var hidden = model.Hidden(tape, prompt is null
            ? new ForwardInput { Batch = b, Length = t, TokenIds = ids, Hooks = hooks }
            : new ForwardInput { Batch = b, Length = t, Embeddings = prompt.EmbedAround(tape, model, ids, b, t, promptStarts), Hooks = hooks });
        // Gathering rows is an embedding lookup with the hidden states as the table (backward scatters the gradient back).
        var predicting = Fn.Embedding(tape, hidden.Reshape(b * t, model.Config.HiddenSize), positions);
        return (model.Logits(tape, predicting), targets, rowStarts);
    }
}
