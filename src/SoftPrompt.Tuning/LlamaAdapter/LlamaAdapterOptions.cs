namespace SoftPrompt.Tuning.LlamaAdapter;

public sealed record LlamaAdapterOptions
{
    /// <summary>Adaption prompt length p (PEFT's adapter_len); the paper uses 10.</summary>
    public int Length { get; init; } = 10;

    /// <summary>How many of the top layers get a prompt (PEFT's adapter_layers); the paper uses 30 of LLaMA-7B's 32.
    /// Null: every layer.</summary>
    public int? Layers { get; init; }

    public int Seed { get; init; } = 1;
}
