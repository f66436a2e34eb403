using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>a + b, same shapes.</summary>
    public static Tensor Add(Tape tape, Tensor a, Tensor b)
    {
        RequireSameLength("Add", a, b);
        bool needs = tape.NeedsGrad(a, b);
        var y = tape.NewLike(a, needs);
        Elementwise.Add(y.Span, a.ReadOnlySpan, b.ReadOnlySpan);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) Elementwise.AddBackward(GradIfNeeded(a), GradIfNeeded(b), y.Grad);
            });
        return y;
    }

    /// <summary>a · b elementwise, same shapes.</summary>
    public static Tensor Mul(Tape tape, Tensor a, Tensor b)
    {
        RequireSameLength("Mul", a, b);
        bool needs = tape.NeedsGrad(a, b);
        var y = tape.NewLike(a, needs);
        Elementwise.Multiply(y.Span, a.ReadOnlySpan, b.ReadOnlySpan);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) Elementwise.MultiplyBackward(GradIfNeeded(a), GradIfNeeded(b), y.Grad, a.ReadOnlySpan,
                    b.ReadOnlySpan);
            });
        return y;
    }

    /// <summary>x (…, C) · s (C): each of x's rows multiplied column by column by s ((IA)³'s learned
    /// rescaling).</summary>
    public static Tensor ScaleColumns(Tape tape, Tensor x, Tensor s)
    {
        if (s.Length != x.Cols)
            throw new ArgumentException(
                $"ScaleColumns: {s.Length} scales ({s.Name}) for rows of width {x.Cols} ({ShapeText(x)}).");
        bool needs = tape.NeedsGrad(x, s);
        var y = tape.NewLike(x, needs);
        Elementwise.ScaleColumns(y.Span, x.ReadOnlySpan, s.ReadOnlySpan);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) Elementwise.ScaleColumnsBackward(GradIfNeeded(x), GradIfNeeded(s), y.Grad,
                    x.ReadOnlySpan, s.ReadOnlySpan);
            });
        return y;
    }

    /// <summary>factor · x.</summary>
    public static Tensor Scale(Tape tape, Tensor x, float factor)
    {
        bool needs = tape.NeedsGrad(x);
        var y = tape.NewLike(x, needs);
        Elementwise.Scale(y.Span, x.ReadOnlySpan, factor);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) Elementwise.ScaleBackward(x.Grad, y.Grad, factor);
            });
        return y;
    }

    /// <summary>The gradient of an input that needs one, else an empty span (the op skips that work).</summary>
    private static Span<float> GradIfNeeded(Tensor? t) => t is not null && t.RequiresGrad ? t.Grad : default;

    private static void RequireSameLength(string op, Tensor a, Tensor b)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
            throw new ArgumentException(
                $"{op}: shapes [{string.Join(", ", a.Shape)}] ({a.Name}) and [{string.Join(", ", b.Shape)}] " +
                $"({b.Name}) differ.");
    }

    private static string ShapeText(Tensor t) => $"[{string.Join(", ", t.Shape)}]" + (t.Name is null ? ""
        : $" ({t.Name})");
}
