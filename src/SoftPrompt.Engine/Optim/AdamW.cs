using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Engine.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter), PyTorch's torch.optim.AdamW semantics: decoupled weight decay applied as
/// p ← p − lr·wd·p before the Adam update, bias-corrected moments. Only parameters that require a gradient are
/// updated, and a parameter whose gradient was never touched in a step is left as it is.
/// </summary>
public sealed class AdamW : IOptimizer
{
    private readonly Tensor[] _parameters;
    private readonly float[][] _m, _v;

    public float LearningRate { get; set; }
    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Epsilon { get; }
    public float WeightDecay { get; }
    public int Step { get; private set; }

    public AdamW(IEnumerable<Tensor> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float epsilon = 1e-8f, float weightDecay = 0.01f)
    {
        _parameters = parameters.Where(p => p.RequiresGrad).ToArray();
        _m = _parameters.Select(p => new float[p.Length]).ToArray();
        _v = _parameters.Select(p => new float[p.Length]).ToArray();
        LearningRate = learningRate;
        Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon; WeightDecay = weightDecay;
    }

    public IReadOnlyList<Tensor> Parameters => _parameters;

    public void RestoreStep(int step) => Step = step;

    public IEnumerable<(string Name, float[] Values)> State()
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            string name = _parameters[i].Name ?? $"#{i}";
            yield return ($"m.{name}", _m[i]);
            yield return ($"v.{name}", _v[i]);
        }
    }

    public void ZeroGrad()
    {
        // A full model's gradients are half a gigabyte at GPT-2 size: both threads clear.
        foreach (var p in _parameters)
            if (p.HasGrad) Parallelism.ForParts(p.Length, ParallelFrom, (start, count) => p.Grad.Slice(start, count)
                .Clear());
    }

    public void Update()
    {
        Step++;
        float correction1 = 1f - MathF.Pow(Beta1, Step);
        float correction2 = 1f - MathF.Pow(Beta2, Step);
        float stepSize = LearningRate / correction1;
        float rootCorrection2 = MathF.Sqrt(correction2);
        float decay = 1f - LearningRate * WeightDecay;
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            if (!p.HasGrad) continue;
            UpdateOne(p.Span, p.Grad, _m[i], _v[i], stepSize, rootCorrection2, decay);
        }
    }

    private const int ParallelFrom = 1 << 18;

    // Memory-bound (7 floats of traffic per weight): Vector512 lanes, the tensor split between the threads when it is
    // large. Each lane does exactly the scalar arithmetic (no fused multiply-adds), so results are bit-identical.
    private unsafe void UpdateOne(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float stepSize,
        float rootCorrection2, float decay)
    {
        fixed (float* pw = w) fixed (float* pg = g) fixed (float* pm = m) fixed (float* pv = v)
        {
            float* ww = pw, gg = pg, mm = pm, vv = pv;
            Parallelism.ForParts(w.Length, ParallelFrom, (start, n) => UpdateRange(new Span<float>(ww + start, n),
                new ReadOnlySpan<float>(gg + start, n), new Span<float>(mm + start, n), new Span<float>(vv + start, n),
                    stepSize, rootCorrection2, decay));
        }
    }

    private void UpdateRange(Span<float> w, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float stepSize,
        float rootCorrection2, float decay)
    {
        float b1 = Beta1, b2 = Beta2, eps = Epsilon;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vb1 = Vector512.Create(b1);
            var vb1c = Vector512.Create(1 - b1);
            var vb2 = Vector512.Create(b2);
            var vb2c = Vector512.Create(1 - b2);
            var vdecay = Vector512.Create(decay);
            var vstep = Vector512.Create(stepSize);
            var vroot = Vector512.Create(rootCorrection2);
            var veps = Vector512.Create(eps);
            for (; j + 16 <= w.Length; j += 16)
            {
                var gj = Vector512.Create(g.Slice(j, 16));
                var mj = vb1 * Vector512.Create(m.Slice(j, 16)) + vb1c * gj;
                var vj = vb2 * Vector512.Create(v.Slice(j, 16)) + vb2c * gj * gj;
                var wj = Vector512.Create(w.Slice(j, 16));
                wj = wj * vdecay - vstep * mj / (Vector512.Sqrt(vj) / vroot + veps);
                mj.CopyTo(m.Slice(j, 16));
                vj.CopyTo(v.Slice(j, 16));
                wj.CopyTo(w.Slice(j, 16));
            }
        }
        for (; j < w.Length; j++)
        {
            float gj = g[j];
            float mj = m[j] = b1 * m[j] + (1 - b1) * gj;
            float vj = v[j] = b2 * v[j] + (1 - b2) * gj * gj;
            w[j] = w[j] * decay - stepSize * mj / (MathF.Sqrt(vj) / rootCorrection2 + eps);
        }
    }

    /// <summary>Scales all gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm
    /// before clipping.</summary>
    public static float ClipGradNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        double sumSquares = 0;
        var withGrad = parameters.Where(p => p.RequiresGrad && p.HasGrad).ToList();
        foreach (var p in withGrad) sumSquares += TensorPrimitives.SumOfSquares(p.Grad);
        float norm = (float)Math.Sqrt(sumSquares);
        if (norm > maxNorm && norm > 0)
        {
            float scale = maxNorm / (norm + 1e-6f);
            foreach (var p in withGrad) TensorPrimitives.Multiply(p.Grad, scale, p.Grad);
        }
        return norm;
    }
}
