using SoftPrompt.Engine;

namespace SoftPrompt.Tuning;

/// <summary>PyTorch's default initialisations (nn.Embedding, nn.Linear), so that our adapters start where PEFT's do
/// and runs of the two compare.</summary>
public static class DefaultInit
{
    /// <summary>nn.Embedding: Normal(0, 1).</summary>
    public static void Embedding(Tensor weight, Random rng)
    {
        var s = weight.Span;
        for (int i = 0; i < s.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            s[i] = (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
    }

    /// <summary>nn.Linear: weight (Out, In) and bias uniform in ±1/√In.</summary>
    public static void Linear(Tensor weight, Tensor? bias, Random rng)
    {
        float bound = 1f / MathF.Sqrt(weight.Dim(1));
        foreach (var t in bias is null ? new[] { weight } : new[] { weight, bias })
        {
            var s = t.Span;
            for (int i = 0; i < s.Length; i++) s[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
        }
    }
}
