using SoftPrompt.Engine;

namespace SoftPrompt.Models;

/// <summary>
/// Keys and values of the positions processed so far, per layer, for incremental decoding. Storage is allocated once
/// for <see cref="Capacity"/> positions, laid out (B, Capacity, kvWidth), so appending a token copies one row per
/// batch row and no step reallocates.
/// </summary>
public sealed class KvCache
{
    private readonly float[][] _keys, _values;
    private readonly bool[] _padding;

    public int Batch { get; }
    public int Capacity { get; }
    public int KvWidth { get; }
    public int Count { get; private set; }

    public KvCache(ModelConfig config, int batch, int capacity)
    {
        Batch = batch;
        Capacity = capacity;
        KvWidth = config.KvWidth;
        _keys = new float[config.NumLayers][];
        _values = new float[config.NumLayers][];
        for (int l = 0; l < config.NumLayers; l++)
        {
            _keys[l] = new float[(long)batch * capacity * KvWidth];
            _values[l] = new float[(long)batch * capacity * KvWidth];
        }
        _padding = new bool[batch * capacity];
    }

    public void Clear() => Count = 0;

    /// <summary>Appends this layer's new rows (B, T, kvWidth) and returns all keys and values so far (B, Count+T, kvWidth).
    /// Called once per layer per forward; <see cref="Advance"/> commits the length after the last layer.</summary>
    internal (Tensor Keys, Tensor Values) Append(Tape tape, int layer, Tensor keys, Tensor values)
    {
        int t = keys.Dim(1);
        EnsureRoom(t);
        CopyIn(_keys[layer], keys, t);
        CopyIn(_values[layer], values, t);
        return (View(tape, _keys[layer], Count + t), View(tape, _values[layer], Count + t));
    }

    internal void AppendPadding(bool[]? padding, int t)
    {
        EnsureRoom(t);
        for (int b = 0; b < Batch; b++)
            for (int i = 0; i < t; i++)
                _padding[b * Capacity + Count + i] = padding is not null && padding[b * t + i];
    }

    /// <summary>Padding flags of the cached rows followed by the new ones, B·(Count+t), or null when nothing is padded.</summary>
    internal bool[]? PaddingWith(int t)
    {
        bool any = false;
        var mask = new bool[Batch * (Count + t)];
        for (int b = 0; b < Batch; b++)
            for (int i = 0; i < Count + t; i++)
                any |= mask[b * (Count + t) + i] = _padding[b * Capacity + i];
        return any ? mask : null;
    }

    internal void Advance(int t) => Count += t;

    private void EnsureRoom(int t)
    {
        if (Count + t > Capacity)
            throw new InvalidOperationException($"KV cache full: {Count} + {t} positions exceed its capacity of {Capacity}.");
    }

    private void CopyIn(float[] store, Tensor rows, int t)
    {
        var src = rows.ReadOnlySpan;
        for (int b = 0; b < Batch; b++)
            src.Slice(b * t * KvWidth, t * KvWidth).CopyTo(store.AsSpan((b * Capacity + Count) * KvWidth, t * KvWidth));
    }

    private Tensor View(Tape tape, float[] store, int length)
    {
        if (Batch == 1) return Tensor.Wrap(store, 0, new[] { 1, length, KvWidth });
        var packed = tape.NewTensor(new[] { Batch, length, KvWidth });
        var dst = packed.Span;
        for (int b = 0; b < Batch; b++)
            store.AsSpan(b * Capacity * KvWidth, length * KvWidth).CopyTo(dst.Slice(b * length * KvWidth, length * KvWidth));
        return packed;
    }
}
