using SoftPrompt.Engine;
using System.Numerics.Tensors;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Greedy decoding with a T5: the input is encoded once; each step runs the decoder over everything written so far
/// and appends the most likely next token, until the end-of-sequence token or <paramref name="maxNewTokens"/>. The
/// decoder is re-run rather than cached, which costs O(n²) decoder positions: cheap for the short answers these
/// models give, and it keeps one code path for scoring and writing.
/// </summary>
public static class Seq2SeqGenerator
{
    public static List<int> Greedy(T5 model, IReadOnlyList<int> input, int maxNewTokens, int? endOfSequence, Action<int>? onToken = null)
    {
        if (input.Count == 0) throw new ArgumentException("Generation needs at least one input token.");
        if (maxNewTokens < 1) throw new ArgumentException($"--max-tokens must be at least 1 (got {maxNewTokens}).");
        var tape = new Tape(recording: false);
        var encoded = model.Encode(tape, new ForwardInput { Batch = 1, Length = input.Count, TokenIds = input.ToArray() });
        int vocab = model.Config.VocabSize;
        var written = new List<int>();
        var decoderIds = new List<int> { model.DecoderStartId };
        for (int step = 0; step < maxNewTokens; step++)
        {
            int made = tape.OwnedCount;
            var decoded = model.Decode(tape, new ForwardInput { Batch = 1, Length = decoderIds.Count, TokenIds = decoderIds.ToArray() }, encoded, null);
            var logits = model.Logits(tape, decoded).ReadOnlySpan;
            int next = TensorPrimitives.IndexOfMax(logits.Slice((decoderIds.Count - 1) * vocab, vocab));
            tape.ReturnMadeSince(made, keep: encoded);
            if (next == endOfSequence) break;
            written.Add(next);
            decoderIds.Add(next);
            onToken?.Invoke(next);
        }
        tape.Reset();
        return written;
    }
}
