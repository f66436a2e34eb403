using SoftPrompt.Engine;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Greedy decoding with a T5: the input is encoded once; each step decodes one position per row against the keys and
/// values kept from the earlier ones (<see cref="T5.DecodeNext"/>) and appends each row's most likely next token.
/// Through an adapter's hooks, which see whole sequences, each step re-runs the decoder over everything written so far
/// (O(n²) decoder positions; the cached path is checked against it).
/// </summary>
public static class Seq2SeqGenerator
{
    /// <summary>One input's answer, up to the end-of-sequence token (not included) or
    /// <paramref name="maxNewTokens"/>.</summary>
    public static List<int> Greedy(T5 model, IReadOnlyList<int> input, int maxNewTokens, int? endOfSequence,
        Action<int>? onToken = null)
    {
        if (input.Count == 0) throw new ArgumentException("Generation needs at least one input token.");
        var tape = new Tape(recording: false);
        var encoded = model.Encode(tape, new ForwardInput { Batch = 1, Length = input.Count,
            TokenIds = input.ToArray() });
        var written = Greedy(model, tape, encoded, null, null, maxNewTokens, endOfSequence, onToken)[0];
        tape.Reset();
        return written;
    }

    /// <summary>
    /// The answers (B rows) to an encoder output already on <paramref name="tape"/>, through the adapter's hooks if
    /// any. A row that writes <paramref name="endOfSequence"/> stops there (the token is not kept); decoding ends when
    /// every row has stopped or after <paramref name="maxNewTokens"/>. <paramref name="onFirstRowToken"/> sees row 0's
    /// tokens as they are written.
    /// </summary>
    public static List<int>[] Greedy(T5 model, Tape tape, Tensor encoded, bool[]? encoderPadding, ILayerHooks? hooks,
        int maxNewTokens, int? endOfSequence, Action<int>? onFirstRowToken = null)
    {
        if (maxNewTokens < 1) throw new OptionException("MaxNewTokens", $"must be at least 1 (got {maxNewTokens}).");
        int batch = encoded.Dim(0), vocab = model.Config.VocabSize;
        var written = Enumerable.Range(0, batch).Select(_ => new List<int>()).ToArray();
        var stopped = new bool[batch];
        if (hooks is null)
        {
            var state = model.StartDecoding();
            var next = Enumerable.Repeat(model.DecoderStartId, batch).ToArray();
            for (int step = 0; step < maxNewTokens && stopped.Contains(false); step++)
            {
                int made = tape.OwnedCount;
                var logits = model.Logits(tape, model.DecodeNext(tape, next, encoded, encoderPadding,
                    state)).ReadOnlySpan;
                for (int r = 0; r < batch; r++)
                {
                    // a stopped row is fed the end token (or 0), which no other row can see, as the recomputing path
                    // does
                    int best = TensorPrimitives.IndexOfMax(logits.Slice(r * vocab, vocab));
                    if (!stopped[r] && best == endOfSequence) stopped[r] = true;
                    if (stopped[r]) { next[r] = endOfSequence ?? 0; continue; }
                    written[r].Add(best);
                    next[r] = best;
                    if (r == 0) onFirstRowToken?.Invoke(best);
                }
                tape.ReturnMadeSince(made, keep: encoded);
            }
            return written;
        }
        for (int step = 0; step < maxNewTokens && stopped.Contains(false); step++)
        {
            // [start; tokens so far] per row; a stopped row keeps its last token, which no other row can see
            int length = step + 1, made = tape.OwnedCount;
            var inputs = new int[batch * length];
            for (int r = 0; r < batch; r++)
            {
                inputs[r * length] = model.DecoderStartId;
                for (int t = 0; t < step; t++) inputs[r * length + t + 1] = t < written[r].Count ? written[r][t]
                    : endOfSequence ?? 0;
            }
            var decoded = model.Decode(tape, new ForwardInput { Batch = batch, Length = length, TokenIds = inputs,
                Hooks = hooks }, encoded, encoderPadding);
            var logits = model.Logits(tape, decoded).ReadOnlySpan;
            for (int r = 0; r < batch; r++)
            {
                if (stopped[r]) continue;
                int next = TensorPrimitives.IndexOfMax(logits.Slice((r * length + step) * vocab, vocab));
                if (next == endOfSequence) { stopped[r] = true; continue; }
                written[r].Add(next);
                if (r == 0) onFirstRowToken?.Invoke(next);
            }
            // hooks may keep tensors between passes (a prefix's rows), so only a hook-free pass hands its memory back
            if (hooks is null) tape.ReturnMadeSince(made, keep: encoded);
        }
        return written;
    }
}
