using System.Numerics.Tensors;
using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>Softmax over the last dimension.</summary>
    public static Tensor Softmax(Tape tape, Tensor x)
    {
        bool needs = tape.NeedsGrad(x);
        var y = tape.NewLike(x, needs);
        Ops.Softmax.Forward(y.Span, x.ReadOnlySpan, x.Cols);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) Ops.Softmax.Backward(x.Grad, y.Grad, y.ReadOnlySpan, x.Cols);
            });
        return y;
    }

    /// <summary>
    /// Mean cross-entropy of logits (N, V) against targets (N), skipping rows whose target is
    /// <paramref name="ignoreIndex"/> (PyTorch's convention). Output shape [1]; 0 when every row is ignored.
    /// Backward reads <paramref name="targets"/> again, so the array must not change until then.
    /// </summary>
    public static Tensor CrossEntropy(Tape tape, Tensor logits, int[] targets, int ignoreIndex = -100)
    {
        if (logits.Rank != 2 || logits.Dim(0) != targets.Length)
            throw new ArgumentException(
                $"CrossEntropy: logits {ShapeText(logits)} must be (N, V) with N = {targets.Length} targets.");
        int n = logits.Dim(0), vocab = logits.Dim(1);
        int counted = 0;
        for (int i = 0; i < n; i++)
        {
            if (targets[i] == ignoreIndex) continue;
            if ((uint)targets[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets),
                    $"CrossEntropy: target {targets[i]} at row {i} is outside the {vocab} classes.");
            counted++;
        }
        bool needs = tape.NeedsGrad(logits);
        var loss = tape.NewTensor(new[] { 1 }, needs);
        var rows = tape.Scratch(n);
        Ops.CrossEntropy.RowLosses(logits.ReadOnlySpan, n, vocab, targets, rows.Span, ignoreIndex);
        loss[0] = counted == 0 ? 0f : (float)(SumAsDouble(rows.ReadOnlySpan) / counted);
        if (needs && counted > 0)
            tape.Record(() =>
            {
                if (loss.HasGrad)
                    Ops.CrossEntropy.Backward(logits.Grad, logits.ReadOnlySpan, n, vocab, targets, ignoreIndex,
                        loss.Grad[0] / counted);
            });
        return loss;
    }

    /// <summary>Σ x → shape [1].</summary>
    public static Tensor Sum(Tape tape, Tensor x) => ScaledSum(tape, x, 1f);

    /// <summary>mean(x) → shape [1].</summary>
    public static Tensor Mean(Tape tape, Tensor x) => ScaledSum(tape, x, x.Length == 0 ? 0f : 1f / x.Length);

    private static Tensor ScaledSum(Tape tape, Tensor x, float factor)
    {
        bool needs = tape.NeedsGrad(x);
        var y = tape.NewTensor(new[] { 1 }, needs);
        y[0] = (float)(SumAsDouble(x.ReadOnlySpan) * factor);
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                var dx = x.Grad;
                TensorPrimitives.Add(dx, y.Grad[0] * factor, dx);
            });
        return y;
    }

    // Losses over many rows are summed in float64 so the mean does not depend on the row count's rounding.
    private static double SumAsDouble(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        return sum;
    }
}
