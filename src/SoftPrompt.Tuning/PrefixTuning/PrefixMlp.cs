using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;

namespace SoftPrompt.Tuning.PrefixTuning;

/// <summary>
/// Li &amp; Liang's reparameterisation P = W₂·tanh(W₁·P′ + b₁) + b₂, laid out as PEFT's PrefixEncoder (embedding,
/// transform.0, transform.2). P′ (p, D); W₁ (H, D); W₂ (k·2·kvWidth, H).
/// </summary>
public sealed record PrefixMlp(Tensor Embedding, Tensor HiddenWeight, Tensor HiddenBias, Tensor OutputWeight,
    Tensor OutputBias)
{
    public const string NamePrefix = "prefix.encoder.";

    public static PrefixMlp Create(int virtualTokens, int modelWidth, int hiddenSize, int outputWidth)
    {
        Tensor Make(string name, params int[] shape) => Tensor.Parameter(shape, trainable: true, NamePrefix + name);
        return new PrefixMlp(
            Make("embedding.weight", virtualTokens, modelWidth),
            Make("transform.0.weight", hiddenSize, modelWidth), Make("transform.0.bias", hiddenSize),
            Make("transform.2.weight", outputWidth, hiddenSize), Make("transform.2.bias", outputWidth));
    }

    public IReadOnlyList<Tensor> Tensors => new[] { Embedding, HiddenWeight, HiddenBias, OutputWeight, OutputBias };

    public void Initialize(Random rng)
    {
        DefaultInit.Embedding(Embedding, rng);
        DefaultInit.Linear(HiddenWeight, HiddenBias, rng);
        DefaultInit.Linear(OutputWeight, OutputBias, rng);
    }

    /// <summary>The prefix rows (p, k·2·kvWidth).</summary>
    public Tensor Forward(Tape tape) =>
        Fn.Linear(tape, Fn.Tanh(tape, Fn.Linear(tape, Embedding, HiddenWeight, HiddenBias)), OutputWeight, OutputBias);
}
