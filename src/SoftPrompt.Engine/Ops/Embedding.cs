using System.Numerics.Tensors;

namespace SoftPrompt.Engine.Ops;

/// <summary>Row gather from an embedding table: y[i] = table[ids[i]].</summary>
public static class Embedding
{
    // table is (V, D), ids is (N), y is (N, D)
    public static void Forward(Span<float> y, ReadOnlySpan<float> table, ReadOnlySpan<int> ids, int dim)
    {
        for (int i = 0; i < ids.Length; i++)
            table.Slice(ids[i] * dim, dim).CopyTo(y.Slice(i * dim, dim));
    }

    // dtable[ids[i]] += dy[i]; repeated ids accumulate
    public static void Backward(Span<float> dtable, ReadOnlySpan<float> dy, ReadOnlySpan<int> ids, int dim)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            var row = dtable.Slice(ids[i] * dim, dim);
            TensorPrimitives.Add(row, dy.Slice(i * dim, dim), row);
        }
    }
}
