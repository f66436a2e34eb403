using SoftPrompt.Engine;

namespace SoftPrompt.Tuning;

/// <summary>The random starting points the adapter methods draw their new weights from.</summary>
internal static class RandomInit
{
    public static void Uniform(Tensor t, Random rng, float bound)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)((rng.NextDouble() * 2 - 1) * bound);
    }

    /// <summary>Normal(0, std), redrawn beyond <paramref name="truncateAt"/> standard deviations (Houlsby et
    /// al.).</summary>
    public static void Normal(Tensor t, Random rng, float std, double truncateAt = double.PositiveInfinity)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
        {
            double z;
            do z = Math.Sqrt(-2.0 * Math.Log(1.0 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            while (Math.Abs(z) > truncateAt);
            s[i] = (float)(std * z);
        }
    }
}
