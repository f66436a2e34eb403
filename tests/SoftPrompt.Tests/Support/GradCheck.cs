using SoftPrompt.Engine;
using Xunit;

namespace SoftPrompt.Tests.Support;

/// <summary>
/// Checks an op's backward against central finite differences. The op's output is contracted with a fixed random
/// tensor R (loss = Σ R·y, accumulated in float64), so one backward pass seeded with R yields every input gradient,
/// and each input element is perturbed by ±eps and the loss recomputed. float32 forward passes limit the precision,
/// so inputs are kept small and O(1); a wrong backward shows up as an O(1) relative error, far above the tolerance.
/// </summary>
public static class GradCheck
{
    public static Tensor Random(int seed, float scale, params int[] shape)
    {
        var rng = new System.Random(seed);
        var t = Tensor.Parameter(shape, trainable: true);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return t;
    }

    /// <param name="forward">Builds the output from the inputs on the given tape.</param>
    /// <param name="inputs">Tensors whose gradients are checked (those with RequiresGrad).</param>
    public static void Check(Func<Tape, Tensor[], Tensor> forward, Tensor[] inputs, double eps = 1e-2,
        double tolerance = 2e-3, int seed = 7, int maxProbesPerInput = 64)
    {
        var tape = new Tape();
        var y = forward(tape, inputs);
        var rng = new System.Random(seed);
        var r = new float[y.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (float)(rng.NextDouble() * 2 - 1);
        foreach (var t in inputs) t.ZeroGrad();
        tape.Backward(y, r);
        var analytic = inputs.Select(t => t.RequiresGrad && t.HasGrad ? t.Grad.ToArray() : new float[t.Length])
            .ToArray();
        tape.Reset();

        double Loss()
        {
            var tp = new Tape(recording: false);
            var yy = forward(tp, inputs);
            double sum = 0;
            var s = yy.ReadOnlySpan;
            for (int i = 0; i < s.Length; i++) sum += (double)r[i] * s[i];
            tp.Reset();
            return sum;
        }

        for (int k = 0; k < inputs.Length; k++)
        {
            var t = inputs[k];
            if (!t.RequiresGrad) continue;
            var data = t.Span;
            int step = Math.Max(1, data.Length / maxProbesPerInput);
            double maxAbs = 0;
            for (int i = 0; i < data.Length; i++) maxAbs = Math.Max(maxAbs, Math.Abs(analytic[k][i]));
            for (int i = 0; i < data.Length; i += step)
            {
                float orig = data[i];
                data[i] = (float)(orig + eps);
                double plus = Loss();
                data = t.Span;
                data[i] = (float)(orig - eps);
                double minus = Loss();
                data = t.Span;
                data[i] = orig;
                double numeric = (plus - minus) / (2 * eps);
                double err = Math.Abs(numeric - analytic[k][i]) / Math.Max(1.0, maxAbs);
                Assert.True(err <= tolerance,
                    $"input {k} ({t.Name ?? "unnamed"}) element {i}: analytic {analytic[k][i]:G6} vs numeric " +
                        $"{numeric:G6} (scaled error {err:G3} > {tolerance:G3})");
            }
        }
    }
}
