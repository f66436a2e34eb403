using System.Runtime.Intrinsics;

namespace SoftPrompt.Engine.Ops;

/// <summary>Which dimensions of a head form the rotated pairs.</summary>
public enum RopeStyle
{
    /// <summary>Pairs (2i, 2i+1): the Meta / llama2.c layout.</summary>
    Interleaved,
    /// <summary>Pairs (i, i+d/2): the Hugging Face rotate_half layout.</summary>
    RotateHalf,
}

/// <summary>
/// Rescaled rotary frequencies for contexts longer than pretraining's: "linear" divides every frequency by
/// <paramref name="Factor"/>; "llama3" (Llama 3.1+) divides only the low ones (wavelength above
/// original/<paramref name="LowFreqFactor"/>), keeps the high ones (below original/<paramref name="HighFreqFactor"/>)
/// and blends linearly in between.
/// </summary>
public sealed record RopeScaling(string Type, float Factor, float LowFreqFactor = 1f, float HighFreqFactor = 4f,
    int OriginalMaxPositions = 8192)
{
    public double Scale(double frequency)
    {
        if (Type == "linear") return frequency / Factor;
        double wavelength = 2 * Math.PI / frequency;
        double low = OriginalMaxPositions / (double)LowFreqFactor, high = OriginalMaxPositions / (double)HighFreqFactor;
        if (wavelength < high) return frequency;
        if (wavelength > low) return frequency / Factor;
        double smooth = (OriginalMaxPositions / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * frequency / Factor + smooth * frequency;
    }
}

/// <summary>
/// cos/sin of pos·theta^(−2i/d) for i &lt; d/2 (optionally rescaled), as (positions, d/2) tables. Computed in double,
/// cached per (d, theta) and regrown (doubling) when a larger position is asked for; a table once published is never
/// modified.
/// </summary>
public sealed class RopeTable
{
    private static readonly Dictionary<(int HeadDim, float Theta, RopeScaling? Scaling), RopeTable> Cache = new();
    private const int MinPositions = 1024;

    public int HeadDim { get; }
    public float Theta { get; }
    public int Positions { get; }
    public float[] Cos { get; }
    public float[] Sin { get; }

    private RopeTable(int headDim, float theta, RopeScaling? scaling, int positions)
    {
        HeadDim = headDim;
        Theta = theta;
        Positions = positions;
        int half = headDim / 2;
        Cos = new float[positions * half];
        Sin = new float[positions * half];
        for (int i = 0; i < half; i++)
        {
            double frequency = Math.Pow(theta, -2.0 * i / headDim);
            if (scaling is not null) frequency = scaling.Scale(frequency);
            for (int pos = 0; pos < positions; pos++)
            {
                double angle = pos * frequency;
                Cos[pos * half + i] = (float)Math.Cos(angle);
                Sin[pos * half + i] = (float)Math.Sin(angle);
            }
        }
    }

    /// <summary>A table covering positions [0, positionCount).</summary>
    public static RopeTable Get(int headDim, float theta, int positionCount, RopeScaling? scaling = null)
    {
        if (headDim <= 0 || headDim % 2 != 0)
            throw new ArgumentException($"RoPE head dimension must be positive and even, got {headDim}.");
        if (!(theta > 1f)) throw new ArgumentException($"RoPE theta must be > 1, got {theta}.");
        lock (Cache)
        {
            if (Cache.TryGetValue((headDim, theta, scaling), out var table) && table.Positions >= positionCount)
                return table;
            int size = Math.Max(MinPositions, table is null ? 0 : table.Positions * 2);
            while (size < positionCount) size *= 2;
            table = new RopeTable(headDim, theta, scaling, size);
            Cache[(headDim, theta, scaling)] = table;
            return table;
        }
    }
}

/// <summary>Rotary position embedding: each head's pairs rotated by the row's position times the pair's
/// frequency.</summary>
public static class Rope
{
    // x and y are (rows, numHeads*headDim); positions is (rows); the table covers every position
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<int> positions, int numHeads,
        int headDim,
        RopeStyle style, RopeTable table)
        => Rotate(y, x, positions, numHeads, headDim, style, table, inverse: false);

    // The rotation is orthogonal, so dx += R(−angle)·dy
    public static void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<int> positions, int numHeads,
        int headDim,
        RopeStyle style, RopeTable table)
    {
        if (dx.IsEmpty) return;
        Rotate(dx, dy, positions, numHeads, headDim, style, table, inverse: true);
    }

    // Forward writes dst; the inverse (backward) adds into it.
    private static void Rotate(Span<float> dst, ReadOnlySpan<float> src, ReadOnlySpan<int> positions, int numHeads,
        int headDim,
        RopeStyle style, RopeTable table, bool inverse)
    {
        int width = numHeads * headDim, half = headDim / 2;
        if (headDim % 2 != 0 || table.HeadDim != headDim)
            throw new ArgumentException(
                $"RoPE: head dimension {headDim} must be even and match the table ({table.HeadDim}).");
        if (src.Length != positions.Length * width || dst.Length != src.Length)
            throw new ArgumentException(
                $"RoPE: {positions.Length} positions × {width} does not match {src.Length} inputs / {dst.Length} " +
                $"outputs.");
        float sinSign = inverse ? -1f : 1f;
        for (int r = 0; r < positions.Length; r++)
        {
            int pos = positions[r];
            if ((uint)pos >= (uint)table.Positions)
                throw new ArgumentOutOfRangeException(nameof(positions),
                    $"RoPE: position {pos} at row {r} is outside [0, {table.Positions}).");
            var cos = new ReadOnlySpan<float>(table.Cos, pos * half, half);
            var sin = new ReadOnlySpan<float>(table.Sin, pos * half, half);
            for (int h = 0; h < numHeads; h++)
            {
                int start = r * width + h * headDim;
                var from = src.Slice(start, headDim);
                var to = dst.Slice(start, headDim);
                if (style == RopeStyle.RotateHalf) RotateHalves(to, from, cos, sin, sinSign, accumulate: inverse);
                else RotatePairs(to, from, cos, sin, sinSign, accumulate: inverse);
            }
        }
    }

    // (a, b) → (a·cos − b·sin, a·sin + b·cos) with a = from[i], b = from[i + half]
    private static void RotateHalves(Span<float> to, ReadOnlySpan<float> from, ReadOnlySpan<float> cos,
        ReadOnlySpan<float> sin,
        float sinSign, bool accumulate)
    {
        int half = cos.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var sign = Vector512.Create(sinSign);
            for (; i <= half - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var a = Vector512.Create(from.Slice(i));
                var b = Vector512.Create(from.Slice(half + i));
                var c = Vector512.Create(cos.Slice(i));
                var s = Vector512.Create(sin.Slice(i)) * sign;
                var lo = a * c - b * s;
                var hi = a * s + b * c;
                if (accumulate)
                {
                    lo += Vector512.Create((ReadOnlySpan<float>)to.Slice(i));
                    hi += Vector512.Create((ReadOnlySpan<float>)to.Slice(half + i));
                }
                lo.CopyTo(to.Slice(i));
                hi.CopyTo(to.Slice(half + i));
            }
        }
        for (; i < half; i++)
        {
            float a = from[i], b = from[half + i], c = cos[i], s = sin[i] * sinSign;
            float lo = a * c - b * s, hi = a * s + b * c;
            if (accumulate) { to[i] += lo; to[half + i] += hi; }
            else { to[i] = lo; to[half + i] = hi; }
        }
    }

    // (a, b) → (a·cos − b·sin, a·sin + b·cos) with a = from[2i], b = from[2i+1]
    private static void RotatePairs(Span<float> to, ReadOnlySpan<float> from, ReadOnlySpan<float> cos,
        ReadOnlySpan<float> sin,
        float sinSign, bool accumulate)
    {
        for (int i = 0; i < cos.Length; i++)
        {
            float a = from[2 * i], b = from[2 * i + 1], c = cos[i], s = sin[i] * sinSign;
            float lo = a * c - b * s, hi = a * s + b * c;
            if (accumulate) { to[2 * i] += lo; to[2 * i + 1] += hi; }
            else { to[2 * i] = lo; to[2 * i + 1] = hi; }
        }
    }
}
