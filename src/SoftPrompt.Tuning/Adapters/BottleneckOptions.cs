namespace SoftPrompt.Tuning.Adapters;

public sealed record BottleneckOptions
{
    /// <summary>Width m of the bottleneck; each adapter stores 2·m·D + m + D values.</summary>
    public int Size { get; init; } = 16;

    /// <summary>Houlsby et al. adapt both sublayers; without this only the feed-forward one (Pfeiffer et al.'s cheaper
    /// placement, which they found about as good).</summary>
    public bool AfterAttention { get; init; }

    /// <summary>relu, gelu or silu.</summary>
    public string Activation { get; init; } = "relu";

    /// <summary>Standard deviation of the up-projection's start (Houlsby: 10⁻², truncated at two), which keeps each
    /// adapter close to the identity at first.</summary>
    public float UpInitStd { get; init; } = 1e-2f;

    public int Seed { get; init; } = 1;

    public void Validate()
    {
        if (Size < 1) throw new ArgumentException($"The adapter bottleneck needs at least one unit (got {Size}).");
        if (Activation is not ("relu" or "gelu" or "silu"))
            throw new ArgumentException($"Unknown adapter activation '{Activation}': use relu, gelu or silu.");
    }
}
