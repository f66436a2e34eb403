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
        if (x.Cols != inF)
            throw new ArgumentException(
                $"Linear: input width {x.Cols} does not match weight [{outF}, {inF}] ({w.Name}).");
        if (b is not null && b.Length != outF)
            throw new ArgumentException($"Linear: bias length {b.Length} does not match {outF} outputs ({b.Name}).");
        int n = x.Rows;
        var shape = (int[])x.Shape.Clone();
        shape[^1] = outF;
        bool needs = tape.NeedsGrad(x, w, b);
        var y = tape.NewTensor(shape, needs);
        var bias = b is null ? default : b.ReadOnlySpan;
        // A frozen int8 weight runs in the int8 kernels (x quantized per row); a frozen bfloat16 weight in the bfloat16
        // kernels where the CPU has them (x rounded to bfloat16).
        if (w.Int8Operand is { } quantized)
            Ops.Linear.Forward(y.Span, x.ReadOnlySpan, quantized, bias, n);
        else if (Kernels.Bf16Gemm.Enabled && w.Bf16Operand(forInputGradient: false) is { } packed)
            Ops.Linear.Forward(y.Span, x.ReadOnlySpan, packed, bias, n);
        else
            using (var weight = WeightValues.Of(w)) Ops.Linear.Forward(y.Span, x.ReadOnlySpan, weight.Span, bias, n,
                inF, outF);
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                var dx = x.RequiresGrad ? x.Grad : default;
                var dw = w.RequiresGrad ? w.Grad : default;
                var db = b is not null && b.RequiresGrad ? b.Grad : default;
                if (!dx.IsEmpty && dw.IsEmpty && Kernels.Bf16Gemm.Enabled
                    && w.Bf16Operand(forInputGradient: true) is { } packedForGradient)
                {
                    Ops.Linear.InputGradient(dx, y.Grad, packedForGradient, n);
                    dx = default; // done in the bfloat16 kernels
                }
                // Only a product reads the weight's values: a bias alone (BitFit) needs no widened copy.
                if (dx.IsEmpty && dw.IsEmpty)
                {
                    Ops.Linear.Backward(default, default, db, y.Grad, default, default, n, inF, outF);
                    return;
                }
                using var weight = WeightValues.Of(w);
                Ops.Linear.Backward(dx, dw, db, y.Grad, x.ReadOnlySpan, weight.Span, n, inF, outF);
            });
        return y;
    }

    /// <summary>
    /// A weight's values as float32 for one product: its own storage, or — for a frozen weight held in bfloat16 or
    /// int8 — a widened copy in a pooled buffer, returned when disposed. Widening bfloat16 is exact, so the product is
    /// the one float32 storage would give (int8 widens to its dequantized values); it costs one pass over the weight
    /// per product, small beside the product itself at any batch of tokens, and it halves the weights' resident
    /// memory.
    /// </summary>
    private readonly ref struct WeightValues
    {
        private readonly float[]? _rented;
        public ReadOnlySpan<float> Span { get; }

        private WeightValues(ReadOnlySpan<float> span, float[]? rented)
        {
            Span = span;
            _rented = rented;
        }

        public static WeightValues Of(Tensor w)
        {
            if (!w.IsWidenedToRead) return new WeightValues(w.ReadOnlySpan, null);
            var rented = System.Buffers.ArrayPool<float>.Shared.Rent(w.Length);
            w.WidenTo(rented.AsSpan(0, w.Length));
            return new WeightValues(rented.AsSpan(0, w.Length), rented);
        }

        public void Dispose()
        {
            if (_rented is not null) System.Buffers.ArrayPool<float>.Shared.Return(_rented);
        }
    }
}
