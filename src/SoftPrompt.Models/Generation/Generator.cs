using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Autoregressive decoding with a key/value cache: the prompt is processed once, then each step feeds only the newest
/// token. Logits are computed for the last position only, so a step costs one row through the LM head.
/// </summary>
public static class Generator
{
    /// <summary>Yields new token ids one at a time (so a caller can stream them) after <paramref name="prompt"/>.</summary>
    public static IEnumerable<int> Generate(CausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options)
    {
        options.Validate();
        if (prompt.Count == 0) throw new ArgumentException("Generation needs at least one prompt token.");
        int capacity = prompt.Count + options.MaxNewTokens;
        if (model.Config.Architecture == Architecture.Gpt2 && capacity > model.Config.MaxPositions)
            throw new ArgumentException($"{prompt.Count} prompt tokens + {options.MaxNewTokens} new tokens exceed the model's {model.Config.MaxPositions} positions.");
        return Decode(model, prompt.ToArray(), options, capacity);
    }

    private static IEnumerable<int> Decode(CausalLanguageModel model, int[] prompt, GenerationOptions options, int capacity)
    {
        var cache = new KvCache(model.Config, batch: 1, capacity);
        var tape = new Tape(recording: false);
        var sampler = new TokenSampler(options);
        int[] input = prompt;
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            int next = sampler.Next(LastLogits(model, tape, input, cache).ReadOnlySpan);
            tape.Reset();
            yield return next;
            if (options.StopTokens.Contains(next)) yield break;
            input = new[] { next };
        }
    }

    /// <summary>Logits (1, 1, V) of the last position of <paramref name="tokens"/>, appended to the cache.</summary>
    public static Tensor LastLogits(CausalLanguageModel model, Tape tape, int[] tokens, KvCache cache)
    {
        var hidden = model.Hidden(tape, new ForwardInput { Batch = 1, Length = tokens.Length, TokenIds = tokens, Cache = cache });
        var last = tokens.Length == 1 ? hidden : Fn.Slice(tape, hidden, 1, tokens.Length - 1, 1);
        return model.Logits(tape, last);
    }
}
