using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>
/// The forward pass both prompt-tuning objectives share: rows [x; y] right-padded to one length (causal attention never
/// lets a real token see the padding) behind an optional soft prompt; logits of the text positions (B·T, V) and
/// targets that are the next token on y's positions only (−100 elsewhere).
/// </summary>
public static class PromptedSequences
{
    public static (Tensor Logits, int[] Targets) Logits(Tape tape, CausalLanguageModel model, PromptEmbedding? prompt,
        IReadOnlyList<(int[] Input, int[] Target)> rows, int paddingId)
    {
        int b = rows.Count, t = rows.Max(r => r.Input.Length + r.Target.Length);
        var ids = new int[b * t];
        var targets = new int[b * t];
        Array.Fill(ids, paddingId);
        Array.Fill(targets, -100);
        for (int r = 0; r < b; r++)
        {
            var (input, target) = rows[r];
            if (input.Length == 0) throw new ArgumentException($"Row {r} has no input tokens to predict its target from.");
            input.CopyTo(ids, r * t);
            target.CopyTo(ids, r * t + input.Length);
            for (int j = 0; j < target.Length; j++) targets[r * t + input.Length - 1 + j] = target[j];
        }
        Tensor hidden;
        if (prompt is null)
            hidden = model.Hidden(tape, new ForwardInput { Batch = b, Length = t, TokenIds = ids });
        else
        {
            hidden = model.Hidden(tape, prompt.Input(tape, model, ids, b, t));
            hidden = Fn.Slice(tape, hidden, 1, prompt.Length, t); // the prompt positions predict nothing
        }
        var logits = model.Logits(tape, hidden);
        return (logits.Reshape(b * t, model.Config.VocabSize), targets);
    }
}
