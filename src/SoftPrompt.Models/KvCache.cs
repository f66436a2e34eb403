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
    private float[]? _reorderScratch;

    public int Batch { get; }
    public int Capacity { get; }
    public int KvWidth { get; }
    public int Count { get; private set; }

    public KvCache(ModelConfig config, int batch, int capacity) : this(config.NumLayers, batch, capacity,
        config.KvWidth) { }

    private KvCache(int layers, int batch, int capacity, int kvWidth)
    {
        Batch = batch;
        Capacity = capacity;
        KvWidth = kvWidth;
        _keys = new float[layers][];
        _values = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            _keys[l] = new float[(long)batch * capacity * KvWidth];
            _values[l] = new float[(long)batch * capacity * KvWidth];
        }
        _padding = new bool[batch * capacity];
    }

    public void Clear() => Count = 0;

    /// <summary>A cache of <paramref name="sourceRows"/>.Length rows where row b holds this cache's row sourceRows[b]:
    /// a prompt processed once at batch 1 becomes the starting state of every beam.</summary>
    public KvCache Gather(ReadOnlySpan<int> sourceRows)
    {
        var gathered = new KvCache(_keys.Length, sourceRows.Length, Capacity, KvWidth) { Count = Count };
        for (int l = 0; l < _keys.Length; l++)
        {
            GatherRows(_keys[l], gathered._keys[l], sourceRows);
            GatherRows(_values[l], gathered._values[l], sourceRows);
        }
        GatherPadding(_padding, gathered._padding, sourceRows);
        return gathered;
    }

    /// <summary>In place, row b becomes what row sourceRows[b] was (rows may repeat): beam search keeps each surviving
    /// hypothesis's history when beams are pruned and duplicated.</summary>
    public void Reorder(ReadOnlySpan<int> sourceRows)
    {
        if (sourceRows.Length != Batch)
            throw new ArgumentException($"Reorder needs one source row per row ({Batch}), got {sourceRows.Length}.");
        // Gathered into a spare buffer that then takes the layer's place: no copy back, no allocation per step.
        foreach (var stores in new[] { _keys, _values })
            for (int l = 0; l < stores.Length; l++)
            {
                var spare = _reorderScratch ?? new float[stores[l].Length];
                GatherRows(stores[l], spare, sourceRows);
                _reorderScratch = stores[l];
                stores[l] = spare;
            }
        var padding = new bool[_padding.Length];
        GatherPadding(_padding, padding, sourceRows);
        padding.CopyTo(_padding, 0);
    }

    private void GatherRows(float[] from, float[] to, ReadOnlySpan<int> sourceRows)
    {
        int row = Capacity * KvWidth, used = Count * KvWidth;
        for (int b = 0; b < sourceRows.Length; b++)
        {
            int source = sourceRows[b];
            if ((uint)source >= (uint)Batch) throw new ArgumentOutOfRangeException(nameof(sourceRows),
                $"Row {source} is outside the cache's {Batch} rows.");
            from.AsSpan(source * row, used).CopyTo(to.AsSpan(b * row, used));
        }
    }

    private void GatherPadding(bool[] from, bool[] to, ReadOnlySpan<int> sourceRows)
    {
        for (int b = 0; b < sourceRows.Length; b++)
            from.AsSpan(sourceRows[b] * Capacity, Count).CopyTo(to.AsSpan(b * Capacity, Count));
    }

    /// <summary>Appends this layer's new rows (B, T, kvWidth) and returns all keys and values so far (B, Count+T,
    /// kvWidth). Called once per layer per forward; <see cref="Advance"/> commits the length after the last
    /// layer.</summary>
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

    /// <summary>Padding flags of the cached rows followed by the new ones, B·(Count+t), or null when nothing is
    /// padded.</summary>
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
            throw new InvalidOperationException(
                $"KV cache full: {Count} + {t} positions exceed its capacity of {Capacity}.");
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
            store.AsSpan(b * Capacity * KvWidth, length * KvWidth).CopyTo(dst.Slice(b * length * KvWidth,
                length * KvWidth));
        return packed;
    }
}
