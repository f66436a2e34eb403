using SoftPrompt.Engine;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Engine;

public class AdamWTests
{
    /// <summary>PyTorch's AdamW step for one weight, in the same float32 operations the optimizer uses.</summary>
    private static void Reference(float[] w, float[] g, float[] m, float[] v, int step, float lr, float wd)
    {
        const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        float stepSize = lr / (1f - MathF.Pow(b1, step)), root = MathF.Sqrt(1f - MathF.Pow(b2, step)),
            decay = 1f - lr * wd;
        for (int j = 0; j < w.Length; j++)
        {
            m[j] = b1 * m[j] + (1 - b1) * g[j];
            v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
            w[j] = w[j] * decay - stepSize * m[j] / (MathF.Sqrt(v[j]) / root + eps);
        }
    }

    [Theory]
    [InlineData(37)]        // the scalar tail only
    [InlineData(300_001)]   // vector lanes, split over threads, and a tail
    public void Steps_match_the_scalar_formula_bit_for_bit(int length)
    {
        var weights = GradCheck.Random(1, 1f, length);
        var expected = weights.ToArray();
        var m = new float[length];
        var v = new float[length];
        var optimizer = new AdamW(new[] { weights }, learningRate: 1e-3f, weightDecay: 0.01f);
        for (int step = 1; step <= 3; step++)
        {
            var g = GradCheck.Random(10 + step, 0.5f, length).ToArray();
            g.CopyTo(weights.Grad);
            optimizer.Update();
            optimizer.ZeroGrad();
            Reference(expected, g, m, v, step, 1e-3f, 0.01f);
        }
        Assert.Equal(expected, weights.ToArray());
    }
}
