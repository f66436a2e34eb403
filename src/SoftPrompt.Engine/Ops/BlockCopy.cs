using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Ops;

/// <summary>
/// The data movement behind concat, slice and split. Viewing a tensor around an axis as (outer, width), where
/// width = dim(axis)·inner, every such op copies a column block of each of the outer rows.
/// </summary>
public static class BlockCopy
{
    // dst[o, dstStart + j] (+)= src[o, srcStart + j] for o < outer, j < width
    public static void Copy(Span<float> dst, int dstWidth, int dstStart, ReadOnlySpan<float> src, int srcWidth,
        int srcStart,
        int width, int outer, bool accumulate)
    {
        for (int o = 0; o < outer; o++)
        {
            var from = src.Slice(o * srcWidth + srcStart, width);
            var to = dst.Slice(o * dstWidth + dstStart, width);
            if (accumulate) TensorPrimitives.Add(to, from, to);
            else from.CopyTo(to);
        }
    }

    /// <summary>(outer, inner) around <paramref name="axis"/>: the products of the dimensions before and after
    /// it.</summary>
    public static (int Outer, int Inner) Around(ReadOnlySpan<int> shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, inner);
    }
}
