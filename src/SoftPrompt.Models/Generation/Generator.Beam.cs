using SoftPrompt.Engine;
using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Models.Generation;

/// <summary>How wide the beam is and how finished hypotheses of different lengths are compared.</summary>
public sealed record BeamSearchOptions
{
    public int Width { get; init; } = 4;
    /// <summary>Hypotheses rank by logP / length^penalty: 0 ranks by total log-probability (which favours short
    /// outputs), 1 by log-probability per token.</summary>
    public float LengthPenalty { get; init; } = 1f;

    public void Validate()
    {
        if (Width < 1) throw new ArgumentException($"beam width must be ≥ 1, got {Width}.");
        if (!(LengthPenalty >= 0)) throw new ArgumentException($"length penalty must be ≥ 0, got {LengthPenalty}.");
    }
}

/// <param name="Tokens">The new tokens, ending with the stop token or sequence when <paramref name="Stopped"/>.</param>
/// <param name="LogProbability">log Pr(Tokens | soft prompt, prompt) under the model.</param>
/// <param name="Score">LogProbability / Tokens.Length^LengthPenalty, the ranking.</param>
public sealed record BeamHypothesis(int[] Tokens, double LogProbability, double Score, bool Stopped);

public static partial class Generator
{
    private sealed record Beam(int[] Tokens, double LogProbability);
    private readonly record struct Candidate(int Beam, int Token, double LogProbability);

    /// <summary>
    /// Beam search: the prompt (and soft prompt) is processed once at batch 1, its cache copied to every beam, and each
    /// step feeds the beams' newest tokens as one batch. Of the 2·width best extensions, those that stop are set aside
    /// and the best others carry on, with the cache reordered so each row keeps its hypothesis's history. Ends when no
    /// live beam can still beat the width-th finished one, or at <see cref="GenerationOptions.MaxNewTokens"/>.
    /// Sampling settings of <paramref name="options"/> are ignored.
    /// </summary>
    /// <returns>Up to width hypotheses, best first.</returns>
    public static IReadOnlyList<BeamHypothesis> BeamSearch(CausalLanguageModel model, IReadOnlyList<int> prompt,
        GenerationOptions options,
        BeamSearchOptions beam, Tensor? softPrompt = null)
    {
        beam.Validate();
        int capacity = CacheCapacity(model, prompt, options, softPrompt);
        if (options.MaxNewTokens == 0) return new[] { new BeamHypothesis(Array.Empty<int>(), 0, 0, false) };
        int width = beam.Width;
        var tape = new Tape(recording: false);
        var promptCache = new KvCache(model.Config, batch: 1, capacity);
        KvCache? cache = null;
        var logits = Prefill(model, tape, prompt.ToArray(), softPrompt, promptCache, options.Hooks);
        var live = new List<Beam> { new(Array.Empty<int>(), 0) };
        var finished = new List<BeamHypothesis>();
        // No live beam can end above its log-probability so far over the longest length's penalty (log-probabilities
        // only fall), so this bound decides when the finished ones cannot be beaten.
        double longestPenalty = Math.Pow(options.MaxNewTokens, beam.LengthPenalty);
        for (int step = 1; ; step++)
        {
            var next = new List<Beam>(width);
            var sources = new List<int>(width);
            foreach (var c in BestExtensions(logits.ReadOnlySpan, live, 2 * width, model.Config.VocabSize))
            {
                int[] tokens = [.. live[c.Beam].Tokens, c.Token];
                if (options.Stops(tokens)) finished.Add(Hypothesis(tokens, c.LogProbability, beam, stopped: true));
                else if (next.Count < width) { next.Add(new Beam(tokens, c.LogProbability)); sources.Add(c.Beam); }
            }
            tape.Reset();
            finished = finished.OrderByDescending(h => h.Score).Take(width).ToList();
            if (step == options.MaxNewTokens || next.Count == 0)
            {
                finished.AddRange(next.Select(b => Hypothesis(b.Tokens, b.LogProbability, beam, stopped: false)));
                break;
            }
            if (finished.Count == width && next[0].LogProbability / longestPenalty <= finished[^1].Score) break;

            // Rows beyond the surviving beams repeat the first one; their logits are never read.
            var rows = new int[width];
            var input = new int[width];
            for (int b = 0; b < width; b++)
            {
                int from = b < next.Count ? b : 0;
                rows[b] = sources[from];
                input[b] = next[from].Tokens[^1];
            }
            if (cache is null) cache = promptCache.Gather(rows);
            else cache.Reorder(rows);
            live = next;
            logits = model.Forward(tape, new ForwardInput { Batch = width, Length = 1, TokenIds = input, Cache = cache,
                Hooks = options.Hooks });
        }
        return finished.OrderByDescending(h => h.Score).Take(width).ToList();
    }

    private static BeamHypothesis Hypothesis(int[] tokens, double logProbability, BeamSearchOptions beam,
        bool stopped) =>
        new(tokens, logProbability, logProbability / Math.Pow(tokens.Length, beam.LengthPenalty), stopped);

    /// <summary>The <paramref name="count"/> most likely one-token extensions of the live beams, best first (ties keep
    /// the lower beam and token, as greedy decoding's argmax does). Row b of <paramref name="logits"/> belongs to beam
    /// b.</summary>
    private static Candidate[] BestExtensions(ReadOnlySpan<float> logits, IReadOnlyList<Beam> live, int count,
        int vocab)
    {
        var best = new List<Candidate>(count + 1);
        for (int b = 0; b < live.Count; b++)
        {
            var row = logits.Slice(b * vocab, vocab);
            double normalizer = CrossEntropy.LogSumExp(row);
            for (int token = 0; token < vocab; token++)
            {
                double logProbability = live[b].LogProbability + row[token] - normalizer;
                if (best.Count == count && logProbability <= best[^1].LogProbability) continue;
                int at = best.Count;
                while (at > 0 && best[at - 1].LogProbability < logProbability) at--;
                best.Insert(at, new Candidate(b, token, logProbability));
                if (best.Count > count) best.RemoveAt(count);
            }
        }
        return best.ToArray();
    }
}
