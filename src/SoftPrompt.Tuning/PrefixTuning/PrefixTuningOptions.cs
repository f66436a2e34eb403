namespace SoftPrompt.Tuning.PrefixTuning;

public enum LayerSpan { All, Top, Bottom }

/// <summary>Which layers get prefix rows: all of them, the top k or the bottom k (P-tuning v2's ascend/descend study
/// of where deep prompts matter).</summary>
public sealed record PrefixLayers(LayerSpan Span, int Count = 0)
{
    public static PrefixLayers All { get; } = new(LayerSpan.All);
    public static PrefixLayers Top(int count) => new(LayerSpan.Top, count);
    public static PrefixLayers Bottom(int count) => new(LayerSpan.Bottom, count);

    /// <summary>"all", "top-3" or "bottom-2".</summary>
    public static PrefixLayers Parse(string text)
    {
        if (text == "all") return All;
        var parts = text.Split('-');
        if (parts.Length == 2 && int.TryParse(parts[1], out int k) && k > 0)
        {
            if (parts[0] == "top") return Top(k);
            if (parts[0] == "bottom") return Bottom(k);
        }
        throw new ArgumentException($"Unknown layer selection '{text}': use all, top-K or bottom-K (K ≥ 1).");
    }

    /// <summary>The chosen layer indices of a model with <paramref name="numLayers"/> layers, ascending.</summary>
    public int[] Resolve(int numLayers)
    {
        if (Span != LayerSpan.All && (Count < 1 || Count > numLayers))
            throw new ArgumentException(
                $"{this}: the model has {numLayers} layers, so K must be between 1 and {numLayers}.");
        return Span switch
        {
            LayerSpan.All => Enumerable.Range(0, numLayers).ToArray(),
            LayerSpan.Top => Enumerable.Range(numLayers - Count, Count).ToArray(),
            _ => Enumerable.Range(0, Count).ToArray(),
        };
    }

    public override string ToString() => Span == LayerSpan.All ? "all"
        : $"{Span.ToString().ToLowerInvariant()}-{Count}";
}

/// <param name="VirtualTokens">Prefix rows p per layer.</param>
/// <param name="Reparameterize">Li &amp; Liang's P = MLP(P′): trains P′ (p, D) and a tanh MLP instead of the rows
/// themselves, which they found steadier; P-tuning v2 trains the rows directly (false).</param>
/// <param name="MlpHiddenSize">Width of the MLP's hidden layer; null means the model's hidden size (PEFT's
/// default).</param>
public sealed record PrefixTuningOptions(
    int VirtualTokens = 10, bool Reparameterize = true, int? MlpHiddenSize = null, PrefixLayers? Layers = null,
        int Seed = 1)
{
    public PrefixLayers LayerSelection => Layers ?? PrefixLayers.All;

    /// <summary>P-tuning v2 (Liu et al. 2022) / deep prompt tuning: per-layer rows trained directly.</summary>
    public static PrefixTuningOptions DeepPrompt(int virtualTokens = 10, PrefixLayers? layers = null, int seed = 1) =>
        new(virtualTokens, Reparameterize: false, Layers: layers, Seed: seed);

    /// <summary>These options, after checking them.</summary>
    public PrefixTuningOptions Validated()
    {
        if (VirtualTokens < 1)
            throw new ArgumentException($"Prefix tuning needs at least one virtual token (got {VirtualTokens}).");
        if (MlpHiddenSize is < 1)
            throw new ArgumentException($"The prefix MLP's hidden size must be positive (got {MlpHiddenSize}).");
        return this;
    }
}
