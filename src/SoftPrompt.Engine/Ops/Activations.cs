using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace SoftPrompt.Engine.Ops;

/// <summary>
/// Pointwise nonlinearities. Transcendentals go through TensorPrimitives in chunks on a stack buffer, so the
/// vectorised tanh/sigmoid are used without allocating. Backward steps accumulate into dx.
/// </summary>
public static class Activations
{
    private const int Chunk = 1024;
    private const float GeluScale = 0.7978845608028654f; // √(2/π)
    private const float GeluCubic = 0.044715f;

    // GELU, tanh form (GPT-2): y = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
    public static void Gelu(Span<float> y, ReadOnlySpan<float> x)
    {
        Span<float> t = stackalloc float[Chunk];
        for (int start = 0; start < x.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - start);
            var xs = x.Slice(start, n);
            GeluInnerTanh(t[..n], xs);
            var ys = y.Slice(start, n);
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
                for (var half = Vector512.Create(0.5f); i + 16 <= n; i += 16)
                    (half * Vector512.Create(xs.Slice(i, 16)) * (Vector512<float>.One + Vector512.Create(t.Slice(i,
                        16)))).CopyTo(ys.Slice(i, 16));
            for (; i < n; i++) ys[i] = 0.5f * xs[i] * (1f + t[i]);
        }
    }

    // dy/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(√(2/π)(x + 0.044715x³))
    public static void GeluBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
    {
        Span<float> t = stackalloc float[Chunk];
        for (int start = 0; start < x.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - start);
            var xs = x.Slice(start, n);
            GeluInnerTanh(t[..n], xs);
            var dxs = dx.Slice(start, n);
            var dys = dy.Slice(start, n);
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var half = Vector512.Create(0.5f);
                var one = Vector512<float>.One;
                var scale = Vector512.Create(GeluScale);
                var cubic3 = Vector512.Create(3f * GeluCubic);
                for (; i + 16 <= n; i += 16)
                {
                    var xi = Vector512.Create(xs.Slice(i, 16));
                    var ti = Vector512.Create(t.Slice(i, 16));
                    var slope = half * (one + ti) + half * xi * (one - ti * ti) * scale * (one + cubic3 * xi * xi);
                    (Vector512.Create(dxs.Slice(i, 16)) + Vector512.Create(dys.Slice(i, 16)) * slope)
                        .CopyTo(dxs.Slice(i, 16));
                }
            }
            for (; i < n; i++)
            {
                float xi = xs[i], ti = t[i];
                float slope = 0.5f * (1f + ti) + 0.5f * xi * (1f - ti * ti) * GeluScale * (
                    1f + 3f * GeluCubic * xi * xi);
                dxs[i] += dys[i] * slope;
            }
        }
    }

    private static void GeluInnerTanh(Span<float> t, ReadOnlySpan<float> x)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (var scale = Vector512.Create(GeluScale); i + 16 <= x.Length; i += 16)
            {
                var xi = Vector512.Create(x.Slice(i, 16));
                (scale * (xi + Vector512.Create(GeluCubic) * xi * xi * xi)).CopyTo(t.Slice(i, 16));
            }
        for (; i < x.Length; i++) t[i] = GeluScale * (x[i] + GeluCubic * x[i] * x[i] * x[i]);
        TensorPrimitives.Tanh(t, t);
    }

    // GELU, exact form (BERT, HF's "gelu"): y = x·Φ(x) = ½x(1 + erf(x/√2))
    public static void GeluErf(Span<float> y, ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] * NormalCdf(x[i]);
    }

    // dy/dx = Φ(x) + x·φ(x)
    public static void GeluErfBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float xi = x[i];
            dx[i] += dy[i] * (NormalCdf(xi) + xi * InvSqrt2Pi * MathF.Exp(-0.5f * xi * xi));
        }
    }

    private const float InvSqrt2Pi = 0.3989422804014327f;

    private static float NormalCdf(float x) => 0.5f * (1f + Erf(x * 0.7071067811865476f));

    // .NET has no erf. Abramowitz & Stegun 7.1.26: absolute error below 1.5e-7, under float32's resolution of erf near
    // ±1.
    internal static float Erf(float x)
    {
        float a = MathF.Abs(x);
        float t = 1f / (1f + 0.3275911f * a);
        float poly =
            t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        float e = 1f - poly * MathF.Exp(-a * a);
        return x < 0 ? -e : e;
    }

    // SiLU: y = x·σ(x)
    public static void Silu(Span<float> y, ReadOnlySpan<float> x)
    {
        TensorPrimitives.Sigmoid(x, y);
        TensorPrimitives.Multiply(y, x, y);
    }

    // dy/dx = σ(x)(1 + x(1 − σ(x)))
    public static void SiluBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
    {
        Span<float> s = stackalloc float[Chunk];
        for (int start = 0; start < x.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - start);
            var xs = x.Slice(start, n);
            TensorPrimitives.Sigmoid(xs, s[..n]);
            for (int i = 0; i < n; i++)
                dx[start + i] += dy[start + i] * s[i] * (1f + xs[i] * (1f - s[i]));
        }
    }

    // SwiGLU (LLaMA's MLP): y = silu(gate)·up
    public static void SwiGlu(Span<float> y, ReadOnlySpan<float> gate, ReadOnlySpan<float> up)
    {
        Silu(y, gate);
        TensorPrimitives.Multiply(y, up, y);
    }

    // dgate += dy·up·silu'(gate), dup += dy·silu(gate); either may be empty
    public static void SwiGluBackward(Span<float> dgate, Span<float> dup, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> gate, ReadOnlySpan<float> up)
    {
        Span<float> s = stackalloc float[Chunk];
        for (int start = 0; start < gate.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, gate.Length - start);
            var g = gate.Slice(start, n);
            TensorPrimitives.Sigmoid(g, s[..n]);
            for (int i = 0; i < n; i++)
            {
                int j = start + i;
                if (!dgate.IsEmpty) dgate[j] += dy[j] * up[j] * s[i] * (1f + g[i] * (1f - s[i]));
                if (!dup.IsEmpty) dup[j] += dy[j] * g[i] * s[i];
            }
        }
    }

    public static void Sigmoid(Span<float> y, ReadOnlySpan<float> x) => TensorPrimitives.Sigmoid(x, y);

    // dy/dx = y(1 − y), from the saved output
    public static void SigmoidBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> y)
    {
        for (int i = 0; i < y.Length; i++) dx[i] += dy[i] * y[i] * (1f - y[i]);
    }

    public static void Tanh(Span<float> y, ReadOnlySpan<float> x) => TensorPrimitives.Tanh(x, y);

    // dy/dx = 1 − y², from the saved output
    public static void TanhBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> y)
    {
        for (int i = 0; i < y.Length; i++) dx[i] += dy[i] * (1f - y[i] * y[i]);
    }

    public static void Relu(Span<float> y, ReadOnlySpan<float> x) => TensorPrimitives.Max(x, 0f, y);

    // gradient passes where the input was positive
    public static void ReluBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
    {
        for (int i = 0; i < x.Length; i++) if (x[i] > 0f) dx[i] += dy[i];
    }
}
