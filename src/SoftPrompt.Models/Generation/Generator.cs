using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Models.Generation;

/// <summary>
/// Autoregressive decoding with a key/value cache: the prompt is processed once, then each step feeds only the newest
/// token. Logits are computed for the last position only, so a step costs one row through the LM head.
/// </summary>
public static partial class Generator
{
    /// <summary>
    /// Yields new token ids one at a time (so a caller can stream them) after <paramref name="prompt"/>. A soft prompt
    /// (p, D), when given, goes before the prompt's embeddings; it is processed once, in the first step, and then lives
    /// in the cache like any other position.
    /// </summary>
    public static IEnumerable<int> Generate(CausalLanguageModel model, IReadOnlyList<int> prompt,
        GenerationOptions options, Tensor? softPrompt = null)
    {
        int capacity = CacheCapacity(model, prompt, options, softPrompt);
        return Decode(model, prompt.ToArray(), options, capacity, softPrompt);
    }

    /// <summary>Positions the cache needs: soft prompt, prompt and every new token. Checks the inputs on the
    /// way.</summary>
    private static int CacheCapacity(CausalLanguageModel model, IReadOnlyList<int> prompt, GenerationOptions options,
        Tensor? softPrompt)
    {
        options.Validate();
        if (prompt.Count == 0) throw new ArgumentException("Generation needs at least one prompt token.");
        if (softPrompt is not null && (softPrompt.Rank != 2 || softPrompt.Dim(1) != model.Config.HiddenSize))
            throw new ArgumentException(
                $"A soft prompt of shape [{string.Join(", ", softPrompt.Shape)}] does not fit a model " +
                $"{model.Config.HiddenSize} wide.");
        int capacity = (softPrompt?.Dim(0) ?? 0) + prompt.Count + options.MaxNewTokens;
        if (model.Config.Architecture == Architecture.Gpt2 && capacity > model.Config.MaxPositions)
            throw new ArgumentException(
                $"{prompt.Count} prompt tokens + {options.MaxNewTokens} new tokens exceed the model's " +
                $"{model.Config.MaxPositions} positions.");
        return capacity;
    }

    private static IEnumerable<int> Decode(CausalLanguageModel model, int[] prompt, GenerationOptions options,
        int capacity, Tensor? softPrompt)
    {
        var cache = new KvCache(model.Config, batch: 1, capacity);
        var tape = new Tape(recording: false);
        var sampler = new TokenSampler(options);
        var generated = new List<int>();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            var logits = step == 0
                ? Prefill(model, tape, prompt, softPrompt, cache, options.Hooks)
                : LastLogits(model, tape, new[] { generated[^1] }, cache, options.Hooks);
            int next = sampler.Next(logits.ReadOnlySpan);
            tape.Reset();
            generated.Add(next);
            yield return next;
            if (options.Stops(generated)) yield break;
        }
    }

    /// <summary>Logits (1, 1, V) after [soft prompt; prompt], which the first call leaves in the cache.</summary>
    private static Tensor Prefill(CausalLanguageModel model, Tape tape, int[] prompt, Tensor? softPrompt, KvCache cache,
        ILayerHooks? hooks) =>
        softPrompt is null ? LastLogits(model, tape, prompt, cache, hooks) : LastLogits(model, tape,
            SoftPromptInput(model, tape, softPrompt, prompt, cache, hooks));

    /// <summary>Logits (1, 1, V) of the last position of <paramref name="tokens"/>, appended to the cache.</summary>
    public static Tensor LastLogits(CausalLanguageModel model, Tape tape, int[] tokens, KvCache cache,
        ILayerHooks? hooks = null) =>
        LastLogits(model, tape, new ForwardInput { Batch = 1, Length = tokens.Length, TokenIds = tokens, Cache = cache,
            Hooks = hooks });

    private static Tensor LastLogits(CausalLanguageModel model, Tape tape, ForwardInput input)
    {
        var hidden = model.Hidden(tape, input);
        var last = input.Length == 1 ? hidden : Fn.Slice(tape, hidden, 1, input.Length - 1, 1);
        return model.Logits(tape, last);
    }

    // [soft prompt; embed(tokens)] as one row for the cache's first step
    private static ForwardInput SoftPromptInput(CausalLanguageModel model, Tape tape, Tensor softPrompt, int[] tokens,
        KvCache cache, ILayerHooks? hooks)
    {
        int p = softPrompt.Dim(0), d = softPrompt.Dim(1);
        var text = Fn.Embedding(tape, model.TokenEmbedding, tokens, 1, tokens.Length);
        var embeddings = Fn.Concat(tape, 1, softPrompt.Reshape(1, p, d), text);
        return new ForwardInput { Batch = 1, Length = p + tokens.Length, Embeddings = embeddings, Cache = cache,
            Hooks = hooks };
    }
}
