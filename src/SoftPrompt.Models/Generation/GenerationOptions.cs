namespace SoftPrompt.Models.Generation;

/// <summary>How to pick each next token. Temperature 0 means greedy (always the most likely token).</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public float Temperature { get; init; }
    /// <summary>Sample only among the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }
    /// <summary>Sample only among the smallest set of tokens whose probability reaches p (nucleus); 1 keeps
    /// all.</summary>
    public float TopP { get; init; } = 1f;
    public int Seed { get; init; }
    /// <summary>Generation ends after any of these tokens (which is kept in the output).</summary>
    public IReadOnlyCollection<int> StopTokens { get; init; } = Array.Empty<int>();
    /// <summary>An adapter's layer hooks (prefix rows, LoRA, …), applied at every step: prefix rows are never cached,
    /// so each step sees them afresh.</summary>
    public ILayerHooks? Hooks { get; init; }
    /// <summary>Generation ends once the output ends with any of these token sequences (kept in the output): text
    /// markers such as "\n\n" that the tokenizer may write as several tokens.</summary>
    public IReadOnlyList<int[]> StopSequences { get; init; } = Array.Empty<int[]>();

    /// <summary>Whether the output so far, whose last token is the newest, has reached a stop token or
    /// sequence.</summary>
    public bool Stops(IReadOnlyList<int> generated)
    {
        if (generated.Count == 0) return false;
        if (StopTokens.Contains(generated[^1])) return true;
        foreach (var sequence in StopSequences)
        {
            if (sequence.Length == 0 || sequence.Length > generated.Count) continue;
            int offset = generated.Count - sequence.Length;
            bool match = true;
            for (int i = 0; i < sequence.Length && match; i++) match = generated[offset + i] == sequence[i];
            if (match) return true;
        }
        return false;
    }

    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentException($"max new tokens must be ≥ 0, got {MaxNewTokens}.");
        if (Temperature < 0 || float.IsNaN(Temperature))
            throw new ArgumentException($"temperature must be ≥ 0, got {Temperature}.");
        if (TopK < 0) throw new ArgumentException($"top-k must be ≥ 0, got {TopK}.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1], got {TopP}.");
    }
}
