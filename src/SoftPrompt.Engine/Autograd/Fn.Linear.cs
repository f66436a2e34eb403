using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

/// <summary>
/// Differentiable functions: each runs an op's Forward on the tape's memory and records its Backward, asking only
/// for the gradients some input needs (a frozen weight gets none).
/// </summary>
public static partial class Fn
{
    /// <summary>x (..., In) · w (Out, In)ᵀ + b (Out) → (..., Out).</summary>
    public static Tensor Linear(Tape tape, Tensor x, Tensor w, Tensor? b = null)
    {
        int inF = w.Dim(1), outF = w.Dim(0);
        if (x.Cols != inF) throw new ArgumentException($"Linear: input width {x.Cols} does not match weight [{outF}, {inF}] ({w.Name}).");
        if (b is not null && b.Length != outF) throw new ArgumentException($"Linear: bias length {b.Length} does not match {outF} outputs ({b.Name}).");
        int n = x.Rows;
        var shape = (int[])x.Shape.Clone();
        shape[^1] = outF;
        bool needs = tape.NeedsGrad(x, w, b);
        var y = tape.NewTensor(shape, needs);
        Ops.Linear.Forward(y.Span, x.ReadOnlySpan, w.ReadOnlySpan, b is null ? default : b.ReadOnlySpan, n, inF, outF);
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                Ops.Linear.Backward(
                    x.RequiresGrad ? x.Grad : default,
                    w.RequiresGrad ? w.Grad : default,
                    b is not null && b.RequiresGrad ? b.Grad : default,
                    y.Grad, x.ReadOnlySpan, w.ReadOnlySpan, n, inF, outF);
            });
        return y;
    }
}
