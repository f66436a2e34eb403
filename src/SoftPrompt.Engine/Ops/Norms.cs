using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Ops;

/// <summary>
/// LayerNorm and RMSNorm over the last dimension. Forward saves each row's statistics (mean and 1/σ, or 1/rms) so
/// backward recomputes the normalised row instead of storing it.
/// </summary>
public static class Norms
{
    // x, y: (N, C); gain, bias: (C) (bias may be empty); mean, rstd: (N)
    public static void LayerNorm(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> gain, ReadOnlySpan<float> bias, int cols, float eps)
    {
        int rows = x.Length / cols;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float mu = TensorPrimitives.Sum(xr) / cols;
            TensorPrimitives.Subtract(xr, mu, yr);
            float variance = TensorPrimitives.SumOfSquares(yr) / cols;
            float inv = 1f / MathF.Sqrt(variance + eps);
            mean[r] = mu;
            rstd[r] = inv;
            TensorPrimitives.Multiply(yr, inv, yr);
            TensorPrimitives.Multiply(yr, gain, yr);
            if (!bias.IsEmpty) TensorPrimitives.Add(yr, bias, yr);
        }
    }

    // With x̂ = (x − μ)/σ and g = dy·gain: dx = (g − mean(g) − x̂·mean(g·x̂))/σ; dgain += dy·x̂; dbias += dy.
    public static void LayerNormBackward(Span<float> dx, Span<float> dgain, Span<float> dbias, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> x, ReadOnlySpan<float> gain, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int cols)
    {
        int rows = x.Length / cols;
        Span<float> xhat = cols <= 4096 ? stackalloc float[cols] : new float[cols];
        Span<float> g = cols <= 4096 ? stackalloc float[cols] : new float[cols];
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * cols, cols);
            TensorPrimitives.Subtract(x.Slice(r * cols, cols), mean[r], xhat);
            TensorPrimitives.Multiply(xhat, rstd[r], xhat);
            if (!dgain.IsEmpty) TensorPrimitives.FusedMultiplyAdd(dyr, xhat, dgain, dgain);
            if (!dbias.IsEmpty) TensorPrimitives.Add(dbias, dyr, dbias);
            if (dx.IsEmpty) continue;
            TensorPrimitives.Multiply(dyr, gain, g);
            float meanG = TensorPrimitives.Sum(g) / cols;
            float meanGx = TensorPrimitives.Dot(g, xhat) / cols;
            var dxr = dx.Slice(r * cols, cols);
            for (int i = 0; i < cols; i++) dxr[i] += (g[i] - meanG - xhat[i] * meanGx) * rstd[r];
        }
    }

    // x, y: (N, C); gain: (C); rrms: (N) = 1/√(mean(x²) + eps)
    public static void RmsNorm(Span<float> y, Span<float> rrms, ReadOnlySpan<float> x, ReadOnlySpan<float> gain,
        int cols, float eps)
    {
        int rows = x.Length / cols;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float inv = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(xr) / cols + eps);
            rrms[r] = inv;
            TensorPrimitives.Multiply(xr, inv, yr);
            TensorPrimitives.Multiply(yr, gain, yr);
        }
    }

    // With x̂ = x/rms and g = dy·gain: dx = (g − x̂·mean(g·x̂))/rms; dgain += dy·x̂.
    public static void RmsNormBackward(Span<float> dx, Span<float> dgain, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> gain, ReadOnlySpan<float> rrms, int cols)
    {
        int rows = x.Length / cols;
        Span<float> xhat = cols <= 4096 ? stackalloc float[cols] : new float[cols];
        Span<float> g = cols <= 4096 ? stackalloc float[cols] : new float[cols];
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * cols, cols);
            TensorPrimitives.Multiply(x.Slice(r * cols, cols), rrms[r], xhat);
            if (!dgain.IsEmpty) TensorPrimitives.FusedMultiplyAdd(dyr, xhat, dgain, dgain);
            if (dx.IsEmpty) continue;
            TensorPrimitives.Multiply(dyr, gain, g);
            float meanGx = TensorPrimitives.Dot(g, xhat) / cols;
            var dxr = dx.Slice(r * cols, cols);
            for (int i = 0; i < cols; i++) dxr[i] += (g[i] - xhat[i] * meanGx) * rrms[r];
        }
    }
}
