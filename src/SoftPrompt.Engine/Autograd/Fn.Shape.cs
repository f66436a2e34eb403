using SoftPrompt.Engine.Ops;

namespace SoftPrompt.Engine.Autograd;

public static partial class Fn
{
    /// <summary>
    /// Rows of <paramref name="table"/> (V, D) for each id → shape outShape + (D); outShape defaults to (ids.Length).
    /// Backward reads <paramref name="ids"/> again, so the array must not change until then.
    /// </summary>
    public static Tensor Embedding(Tape tape, Tensor table, int[] ids, params int[] outShape)
    {
        if (table.Rank != 2) throw new ArgumentException($"Embedding: table {ShapeText(table)} must be (V, D).");
        int vocab = table.Dim(0), dim = table.Dim(1);
        if (outShape.Length == 0) outShape = new[] { ids.Length };
        if (Tensor.ShapeLength(outShape) != ids.Length)
            throw new ArgumentException(
                $"Embedding: {ids.Length} ids cannot fill shape [{string.Join(", ", outShape)}].");
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(ids),
                    $"Embedding: id {ids[i]} at position {i} is outside the table's {vocab} rows ({table.Name}).");
        bool needs = tape.NeedsGrad(table);
        var y = tape.NewTensor([.. outShape, dim], needs);
        Ops.Embedding.Forward(y.Span, table.ReadOnlySpan, ids, dim);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) Ops.Embedding.Backward(table.Grad, y.Grad, ids, dim);
            });
        return y;
    }

    /// <summary>Joins tensors along <paramref name="axis"/>; every other dimension must agree.</summary>
    public static Tensor Concat(Tape tape, int axis, params Tensor[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("Concat: nothing to join.");
        var first = parts[0];
        axis = NormalizeAxis("Concat", first, axis);
        var shape = (int[])first.Shape.Clone();
        shape[axis] = 0;
        foreach (var p in parts)
        {
            bool compatible = p.Rank == first.Rank;
            for (int d = 0; compatible && d < p.Rank; d++) compatible = d == axis || p.Shape[d] == first.Shape[d];
            if (!compatible)
                throw new ArgumentException(
                    $"Concat along axis {axis}: {ShapeText(p)} does not fit {ShapeText(first)}.");
            shape[axis] += p.Shape[axis];
        }
        var (outer, inner) = BlockCopy.Around(shape, axis);
        int width = shape[axis] * inner;
        bool needs = tape.NeedsGrad(parts);
        var y = tape.NewTensor(shape, needs);
        int start = 0;
        foreach (var p in parts)
        {
            int w = p.Shape[axis] * inner;
            BlockCopy.Copy(y.Span, width, start, p.ReadOnlySpan, w, 0, w, outer, accumulate: false);
            start += w;
        }
        if (needs)
            tape.Record(() =>
            {
                if (!y.HasGrad) return;
                int from = 0;
                foreach (var p in parts)
                {
                    int w = p.Shape[axis] * inner;
                    if (p.RequiresGrad) BlockCopy.Copy(p.Grad, w, 0, y.Grad, width, from, w, outer, accumulate: true);
                    from += w;
                }
            });
        return y;
    }

    /// <summary>Indices [start, start+length) of <paramref name="axis"/>, copied out.</summary>
    public static Tensor Slice(Tape tape, Tensor x, int axis, int start, int length)
    {
        axis = NormalizeAxis("Slice", x, axis);
        if (start < 0 || length < 0 || start + length > x.Shape[axis])
            throw new ArgumentOutOfRangeException(nameof(start),
                $"Slice: [{start}, {start + length}) is outside axis {axis} of {ShapeText(x)}.");
        var shape = (int[])x.Shape.Clone();
        shape[axis] = length;
        var (outer, inner) = BlockCopy.Around(x.Shape, axis);
        int srcWidth = x.Shape[axis] * inner, width = length * inner;
        bool needs = tape.NeedsGrad(x);
        var y = tape.NewTensor(shape, needs);
        BlockCopy.Copy(y.Span, width, 0, x.ReadOnlySpan, srcWidth, start * inner, width, outer, accumulate: false);
        if (needs)
            tape.Record(() =>
            {
                if (y.HasGrad) BlockCopy.Copy(x.Grad, srcWidth, start * inner, y.Grad, width, 0, width, outer,
                    accumulate: true);
            });
        return y;
    }

    /// <summary>Consecutive pieces of <paramref name="axis"/> with the given sizes (which must add up to its
    /// length).</summary>
    public static Tensor[] Split(Tape tape, Tensor x, int axis, params int[] sizes)
    {
        axis = NormalizeAxis("Split", x, axis);
        if (sizes.Sum() != x.Shape[axis])
            throw new ArgumentException(
                $"Split: sizes [{string.Join(", ", sizes)}] do not add up to axis {axis} of {ShapeText(x)}.");
        var pieces = new Tensor[sizes.Length];
        int start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            pieces[i] = Slice(tape, x, axis, start, sizes[i]);
            start += sizes[i];
        }
        return pieces;
    }

    private static int NormalizeAxis(string op, Tensor x, int axis)
    {
        int normalized = axis < 0 ? x.Rank + axis : axis;
        if (normalized < 0 || normalized >= x.Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} does not exist in {ShapeText(x)}.");
        return normalized;
    }
}
