using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>Lester et al.'s initialisations of a soft prompt.</summary>
public enum PromptInitKind { Uniform, Vocab, Labels, Text }

public static class PromptInit
{
    public static PromptInitKind Parse(string name) => name.ToLowerInvariant() switch
    {
        "uniform" or "random" => PromptInitKind.Uniform,
        "vocab" or "sampled" => PromptInitKind.Vocab,
        "labels" or "class" => PromptInitKind.Labels,
        "text" => PromptInitKind.Text,
        _ => throw new OptionException("Init", $"'{name}' is not known: use uniform, vocab, labels or text."),
    };

    /// <summary>The most frequent token ids in a body of text (most frequent first), for sampled-vocabulary
    /// init.</summary>
    public static int[] MostFrequentTokens(IEnumerable<int[]> encodedTexts, int count)
    {
        var counts = new Dictionary<int, long>();
        foreach (var ids in encodedTexts)
            foreach (int id in ids) counts[id] = counts.GetValueOrDefault(id) + 1;
        return counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).Take(count).Select(kv => kv.Key).ToArray();
    }

    /// <param name="embedding">The frozen model's token embedding (V, D).</param>
    /// <param name="frequentTokens">Candidates for sampled rows (Lester: the 5,000 most frequent tokens).</param>
    /// <param name="labelTokens">Each label's tokens; their embeddings are averaged into one row per label.</param>
    /// <param name="initText">Tokens of an init text, repeated to fill the prompt.</param>
    public static void Apply(PromptEmbedding prompt, PromptInitKind kind, Tensor embedding, int seed,
        IReadOnlyList<int> frequentTokens, IReadOnlyList<int[]>? labelTokens = null, int[]? initText = null)
    {
        int p = prompt.Length, d = prompt.Prompt.Dim(1);
        var rng = new Random(seed);
        var rows = prompt.Prompt.Span;
        var table = embedding.ReadOnlySpan;
        if (kind == PromptInitKind.Uniform) { prompt.InitializeUniform(seed,
            PromptScale.UniformRange(embedding)); return; }
        if (frequentTokens.Count == 0)
            throw new ArgumentException("Sampled initialisation needs at least one frequent token.");
        int filled = 0;
        if (kind == PromptInitKind.Labels)
        {
            foreach (var ids in labelTokens ?? throw new ArgumentException(
                "Label initialisation needs the labels' tokens."))
            {
                if (filled == p) break;
                var row = rows.Slice(filled++ * d, d);
                row.Clear();
                foreach (int id in ids) System.Numerics.Tensors.TensorPrimitives.Add(row, table.Slice(id * d, d), row);
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, 1f / ids.Length, row);
            }
        }
        if (kind == PromptInitKind.Text)
        {
            if (initText is not { Length: > 0 }) throw new OptionException("InitText",
                "must be a non-empty text for text initialisation.");
            for (; filled < p; filled++) table.Slice(initText[filled % initText.Length] * d,
                d).CopyTo(rows.Slice(filled * d, d));
        }
        for (; filled < p; filled++)
            table.Slice(frequentTokens[rng.Next(frequentTokens.Count)] * d, d).CopyTo(rows.Slice(filled * d, d));
    }
}
