using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>LayerNorm over the last dimension: (x − μ)/√(σ² + eps) · gain + bias; gain, bias (C), bias
    /// optional.</summary>
    public static Tensor LayerNorm(Tape tape, Tensor x, Tensor gain, Tensor? bias, float eps)
    {
        int cols = x.Cols;
        RequireVector("LayerNorm gain", gain, cols, x);
        if (bias is not null) RequireVector("LayerNorm bias", bias, cols, x);
        bool needs = tape.NeedsGrad(x, gain, bias);
        var y = tape.NewLike(x, needs);
        var mean = tape.Scratch(x.Rows);
        var rstd = tape.Scratch(x.Rows);
        Norms.LayerNorm(y.Span, mean.Span, rstd.Span, x.ReadOnlySpan, gain.ReadOnlySpan, bias is null ? default
            : bias.ReadOnlySpan, cols, eps);
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                Norms.LayerNormBackward(GradIfNeeded(x), GradIfNeeded(gain), GradIfNeeded(bias), y.Grad,
                    x.ReadOnlySpan, gain.ReadOnlySpan, mean.ReadOnlySpan, rstd.ReadOnlySpan, cols);
            });
        return y;
    }

    /// <summary>RMSNorm over the last dimension: x/√(mean(x²) + eps) · gain.</summary>
    public static Tensor RmsNorm(Tape tape, Tensor x, Tensor gain, float eps)
    {
        int cols = x.Cols;
        RequireVector("RmsNorm gain", gain, cols, x);
        bool needs = tape.NeedsGrad(x, gain);
        var y = tape.NewLike(x, needs);
        var rrms = tape.Scratch(x.Rows);
        Norms.RmsNorm(y.Span, rrms.Span, x.ReadOnlySpan, gain.ReadOnlySpan, cols, eps);
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                Norms.RmsNormBackward(GradIfNeeded(x), GradIfNeeded(gain), y.Grad, x.ReadOnlySpan, gain.ReadOnlySpan,
                    rrms.ReadOnlySpan, cols);
            });
        return y;
    }

    private static void RequireVector(string what, Tensor v, int length, Tensor x)
    {
        if (v.Length != length)
            throw new ArgumentException(
                $"{what} {ShapeText(v)} must have {length} entries to match input {ShapeText(x)}.");
    }
}
