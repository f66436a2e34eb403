using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Models.Generation;

namespace SoftPrompt.Tuning.EncoderDecoder;

/// <summary>`t5 generate` with an adapter: the encoder reads [P; input] (a prompt-tuning adapter) through the hooks of
/// a prefix if any, and the decoder writes greedily, as <see cref="T5Classifier"/> reads a batch.</summary>
public static class T5Generation
{
    /// <summary>One input's greedy answer, up to <paramref name="endOfSequence"/> (not included) or
    /// <paramref name="maxNewTokens"/>; with no adapter, the plain model's.</summary>
    public static List<int> Greedy(T5 model, LoadedAdapter? trained, IReadOnlyList<int> input, int maxNewTokens,
        int? endOfSequence, Action<int>? onToken = null)
    {
        if (trained is null) return Seq2SeqGenerator.Greedy(model, input, maxNewTokens, endOfSequence, onToken);
        if (input.Count == 0) throw new ArgumentException("Generation needs at least one input token.");
        var tape = new Tape(recording: false);
        var ids = input.ToArray();
        var hooks = trained.Adapter?.Hooks(new int[1]);
        var text = Fn.Embedding(tape, model.TokenEmbedding, ids, 1, ids.Length);
        var embeddings = trained.Prompt?.Prepend(tape, text) ?? text;
        var encoded = model.Encode(tape, new ForwardInput
        {
            Batch = 1, Length = ids.Length + (trained.Prompt?.Length ?? 0), Embeddings = embeddings, Hooks = hooks,
        });
        var written = Seq2SeqGenerator.Greedy(model, tape, encoded, null, hooks, maxNewTokens, endOfSequence,
            onToken)[0];
        tape.Reset();
        return written;
    }
}
